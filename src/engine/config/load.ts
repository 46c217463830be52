import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { locateConfig } from './locate.js';
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
  let text: string;
  try {
    text = await readFile(location.absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Not silently the defaults: the user meant something by that file.
    throw new ConfigurationError(
      location.shown,
      null,
      `cannot be read (${code ?? (error as Error).message})`,
      'Make it a readable YAML file, or remove it to use the defaults.',
    );
  }
  return parseConfig(text, location.shown);
}

/**
 * Parse the config file's text. Every problem names the file and the line of the offending key, and
 * says what to do, because a config error is found by a person reading their YAML.
 */
export function parseConfig(text: string, file: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line ?? null;
    throw new ConfigurationError(
      file,
      line,
      `invalid YAML: ${yamlError.message.split('\n')[0]}`,
      'Fix the YAML syntax.',
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = Config.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  // An unknown key is best shown at the key itself.
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const node = nodeAt(doc.contents, path);
  const line = node?.range ? lineCounter.linePos(node.range[0]).line : null;
  const where = path.length > 0 ? `"${path.join('.')}"` : 'the top level';
  throw new ConfigurationError(
    file,
    line,
    `${where}: ${issue.message}`,
    'See the configuration section of the README for the accepted keys and values.',
  );
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
