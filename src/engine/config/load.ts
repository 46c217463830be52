import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { z } from 'zod';
import { closestName } from '../plan/near-ids.js';
import { textFileProblem } from '../plan/plan-file.js';
import { locateConfig, type ConfigLocation } from './locate.js';
import { Config, CONFIG_PATH } from './schema.js';

/**
 * `.github/parallel-executor.yml` from its text, as every shell reads it: the CLI and the Action
 * from the checkout (`readConfigFile`), the App from the default branch through the API. No file
 * (null): every default.
 */
export function configFromText(text: string | null, file: string = CONFIG_PATH): Config {
  return text === null ? Config.parse({}) : parseConfig(text, file);
}

/**
 * The config in a checkout (`.github/parallel-executor.yml` or `.yaml`, never both), or every
 * default when it has none.
 */
export async function readConfigFile(root: string): Promise<Config> {
  const location = await locateConfig(root);
  if (location === null) return Config.parse({});
  return parseConfig(await readConfigText(location, root), location.shown);
}

/** Larger is not a file of settings. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The config file's text. It comes from a branch as the plan does, so what is at its path gets the
 * plan's checks first (`textFileProblem`: a FIFO, a device, a folder, a link out of the
 * repository, a file too large): each, and a file that cannot be read, a ConfigurationError that
 * names it. Never silently the defaults: the user meant something by that file.
 */
export async function readConfigText(location: ConfigLocation, root: string): Promise<string> {
  const refuse = (problem: string, hint: string) =>
    new ConfigurationError(location.shown, null, problem, hint);
  const cannot = (error: unknown) =>
    refuse(
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'Make it a readable YAML file, or remove it to use the defaults.',
    );
  let found: Awaited<ReturnType<typeof textFileProblem>>;
  try {
    found = await textFileProblem(location.absolute, root, MAX_CONFIG_BYTES, 'config');
  } catch (error) {
    throw cannot(error);
  }
  if (found !== null) throw refuse(found.problem, found.hint);
  try {
    return await readFile(location.absolute, 'utf8');
  } catch (error) {
    throw cannot(error);
  }
}

/**
 * Parse the config file's text. Every problem names the file and the line of the offending key, and
 * says what to do, because a config error is found by a person reading their YAML; all of them at
 * once, so fixing one does not merely uncover the next.
 */
export function parseConfig(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((yamlError) => ({
      line: yamlError.linePos?.[0].line ?? lineCounter.linePos(yamlError.pos[0]).line,
      message: `invalid YAML: ${yamlError.message.split('\n')[0]}`,
    }));
    throw configurationError(file, problems, 'Fix the YAML syntax.');
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = Config.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // An unknown key is best shown at the key itself, each one.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [null];
    return keys.map((key) => {
      const at = key === null ? path : [...path, key];
      const node = nodeAt(doc.contents, at);
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : null;
      const where = at.length > 0 ? `"${at.join('.')}"` : 'the top level';
      const message = key === null ? issue.message : `unrecognized key "${key}"`;
      const near = key === null ? nearValue(issue, valueAt(raw, path)) : nearKey(path, key);
      return {
        line,
        message: `${where}: ${message}${near === null ? '' : ` (did you mean "${near}"?)`}`,
      };
    });
  });
  throw configurationError(
    file,
    problems,
    'See the configuration section of the README for the accepted keys and values.',
  );
}

/** For a value not among the accepted ones (`kind: claud`): the one meant, if one is near. */
function nearValue(issue: z.core.$ZodIssue, value: unknown): string | null {
  if (issue.code !== 'invalid_value' || typeof value !== 'string') return null;
  const values = issue.values.filter((entry): entry is string => typeof entry === 'string');
  const typed = value.trim().toLowerCase();
  const starting = values.filter((entry) => typed !== '' && entry.startsWith(typed));
  return closestName(value, values) ?? (starting.length === 1 ? starting[0]! : null);
}

/** For an unknown key (`timeout:` for `timeouts:`): the key of that section meant, if one is near. */
function nearKey(path: readonly string[], key: string): string | null {
  let schema: z.core.$ZodType | undefined = Config;
  for (const step of [...path, null]) {
    // Through optional, default and transform wrappers to the object they hold.
    while (schema !== undefined && !(schema instanceof z.ZodObject)) {
      const def = schema._zod.def as { innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      schema = def.innerType ?? def.in;
    }
    if (schema === undefined) return null;
    const shape = (schema as z.ZodObject).shape as Record<string, z.core.$ZodType>;
    if (step === null) return closestName(key, Object.keys(shape));
    schema = shape[step];
  }
  return null;
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
  let value = raw;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function configurationError(
  file: string,
  problems: Array<{ line: number | null; message: string }>,
  hint: string,
): ConfigurationError {
  const sorted = problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const [first, ...more] = sorted;
  return new ConfigurationError(file, first!.line, first!.message, hint, more);
}

/**
 * The `plan:` a config file names, read leniently: for `validate`, which still checks that plan
 * when the rest of the file has mistakes. Null when the file does not name one it can read.
 */
export function configuredPlan(text: string): string | null {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return null;
  const raw: unknown = doc.toJS();
  const plan = raw !== null && typeof raw === 'object' ? (raw as { plan?: unknown }).plan : null;
  return typeof plan === 'string' ? plan : null;
}

/** Walk the YAML tree to the deepest node on `path`, to point at the right line. */
function nodeAt(root: unknown, path: string[]): Node | null {
  let node = root as Node | null;
  let found: Node | null = node;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => String((item.key as { value?: unknown })?.value) === key,
      );
      if (!pair) return found;
      found = (pair.key as Node) ?? found;
      node = pair.value as Node;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)] as Node | undefined;
      if (!item) return found;
      found = item;
      node = item;
    } else {
      return found;
    }
  }
  return found;
}
