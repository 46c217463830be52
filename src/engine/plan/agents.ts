import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import { agentKey } from './agent-names.js';
import { textFileProblem } from './plan-file.js';
import type { Diagnostic } from './schema.js';

const MAX_AGENT_FILE_BYTES = 1024 * 1024;

/**
 * Front matter of a Claude Code agent file (`.claude/agents/<name>.md`): `name` and `description`
 * required, `tools` a comma list (or a YAML list), `model` optional; other keys are allowed.
 */
export const AgentFrontMatter = z
  .object({
    name: z.string().trim().min(1, 'name is required'),
    description: z.string().trim().min(1, 'description is required'),
    tools: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform((tools) =>
        tools === undefined
          ? null
          : (Array.isArray(tools) ? tools : tools.split(','))
              .map((tool) => tool.trim())
              .filter((tool) => tool !== ''),
      ),
    model: z.string().trim().min(1).optional(),
  })
  .loose();
export type AgentFrontMatter = z.output<typeof AgentFrontMatter>;

export interface AgentDefinition {
  /** Front-matter `name`, or the file name without `.md` when there is no valid front matter. */
  name: string;
  /** File name without `.md` (`builder-1`). */
  fileName: string;
  /** Absolute path. */
  file: string;
  description: string | null;
  tools: string[] | null;
  model: string | null;
  /** The agent's instructions: the file after its front matter. */
  prompt: string;
}

export type FileDiagnostic = Diagnostic & { file: string };

/**
 * Read every `*.md` in an agents directory. A file without front matter still defines an agent
 * by its file name (real projects have such files); front matter that fails the schema is
 * reported with its file and line, and the file still counts by name. `root`: the repository the
 * folder is in, which a linked agent file must not lead out of.
 */
export async function loadAgentDefinitions(
  dir: string,
  root: string | null = null,
): Promise<{ definitions: AgentDefinition[]; diagnostics: FileDiagnostic[] }> {
  let entries: string[];
  try {
    entries = (await readdir(dir)).filter((name) => name.toLowerCase().endsWith('.md')).sort();
  } catch (error) {
    throw new UsageError(
      `cannot read the agents directory ${dir}: ${(error as Error).message}`,
      'Create .claude/agents/ with one <agent>.md per agent, or remove the directory.',
    );
  }
  const definitions: AgentDefinition[] = [];
  const diagnostics: FileDiagnostic[] = [];
  for (const entry of entries) {
    const file = path.join(dir, entry);
    // Not read when it is no plain file of the repository: it still counts by its name.
    const problem = await textFileProblem(file, root, MAX_AGENT_FILE_BYTES).catch(
      (error: Error) => ({ problem: `cannot be read (${error.message})` }),
    );
    const parsed =
      problem === null
        ? parseAgentFile(await readFile(file, 'utf8'), file)
        : {
            definition: parseAgentFile('', file).definition,
            diagnostics: [
              {
                ...agentDiagnostic(file, 1, `${entry} ${problem.problem}; only its name is used`),
                hint: "An agent file is a Markdown file in the repository's .claude/agents/; replace or remove this one.",
              },
            ],
          };
    definitions.push(parsed.definition);
    diagnostics.push(...parsed.diagnostics);
  }
  return { definitions, diagnostics };
}

/** Parse one agent file's text. Pure, for tests and for callers that already hold the text. */
export function parseAgentFile(
  text: string,
  file: string,
): { definition: AgentDefinition; diagnostics: FileDiagnostic[] } {
  const fileName = path.basename(file).replace(/\.md$/iu, '');
  const fallback: AgentDefinition = {
    name: fileName,
    fileName,
    file,
    description: null,
    tools: null,
    model: null,
    prompt: text,
  };
  const match = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/u.exec(text);
  if (!match) return { definition: fallback, diagnostics: [] };
  const prompt = text.slice(match[0].length);
  const lineCounter = new LineCounter();
  const doc = parseDocument(match[1]!, { lineCounter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = (yamlError.linePos?.[0].line ?? 0) + 1;
    return {
      definition: { ...fallback, prompt },
      diagnostics: [
        agentDiagnostic(
          file,
          line,
          `invalid YAML front matter: ${yamlError.message.split('\n')[0]}`,
        ),
      ],
    };
  }
  const result = AgentFrontMatter.safeParse(doc.toJS() ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const line = keyLine(match[1]!, key);
    return {
      definition: { ...fallback, prompt },
      diagnostics: [
        agentDiagnostic(file, line, `front matter${key ? ` "${key}"` : ''}: ${issue.message}`),
      ],
    };
  }
  const data = result.data;
  return {
    definition: {
      name: data.name,
      fileName,
      file,
      description: data.description,
      tools: data.tools,
      model: data.model ?? null,
      prompt,
    },
    diagnostics: [],
  };
}

/** Line in the file (front matter starts on line 2) where `key:` is written, else the `---`. */
function keyLine(frontMatter: string, key: string): number {
  if (!key) return 1;
  const index = frontMatter.split(/\r?\n/u).findIndex((line) => line.startsWith(`${key}:`));
  return index === -1 ? 1 : index + 2;
}

function agentDiagnostic(file: string, line: number, message: string): FileDiagnostic {
  return {
    severity: 'warning',
    code: 'invalid-agent-definition',
    message,
    line,
    column: 1,
    hint: 'Agent files start with front matter: ---, name: <agent>, description: <when to use it>, ---.',
    file,
  };
}

/**
 * The definition for a plan's agent name: by file name or front-matter `name`, ignoring case and
 * treating spaces, underscores and hyphens alike (`Builder-1` = `builder-1.md`).
 */
export function findAgentDefinition(
  agent: string,
  definitions: readonly AgentDefinition[],
): AgentDefinition | null {
  const key = agentKey(agent).replace(/-+/g, '-');
  return (
    definitions.find(
      (definition) =>
        agentKey(definition.fileName).replace(/-+/g, '-') === key ||
        agentKey(definition.name).replace(/-+/g, '-') === key,
    ) ?? null
  );
}
