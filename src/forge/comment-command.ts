/**
 * `/parallel-run …` in a PR comment, parsed into a command. The comment is untrusted text: it is
 * only matched against a small grammar here and never reaches a shell or a workflow `run:` line.
 * The app and the action both read comments with this one parser, so a comment means the same to
 * either; what each does with the command (the action only runs groups) is up to the shell.
 */

export const COMMAND_PREFIX = '/parallel-run';

export type CommentCommand =
  | { kind: 'run'; group: string; dryRun: boolean }
  | { kind: 'status' }
  | { kind: 'cancel' }
  | { kind: 'retry'; taskId: string }
  | { kind: 'help' };

export type ParsedComment =
  | { ok: true; command: CommentCommand }
  /** The comment addresses us but says something we do not understand: answer with the usage. */
  | { ok: false; error: string };

/** Group ids and task ids as plans write them (`2`, `A`, `1.1`, `T-001`, `TASK_003`). */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEYWORDS = new Set(['status', 'cancel', 'retry', 'help']);

/**
 * The command in `body`, or null when the comment is not addressed to us. Only a line that starts
 * with `/parallel-run` counts (quoted lines and code blocks do not), and only the first such line.
 */
export function parseCommentCommand(body: string): ParsedComment | null {
  const line = commandLine(body);
  if (line === null) return null;
  const words = line.slice(COMMAND_PREFIX.length).trim().split(/\s+/).filter(Boolean);
  return parseWords(words);
}

function commandLine(body: string): string | null {
  let inFence = false;
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence || !line.startsWith(COMMAND_PREFIX)) continue;
    const next = line.charAt(COMMAND_PREFIX.length);
    // `/parallel-runner` is someone else's command.
    if (next !== '' && !/\s/.test(next)) continue;
    return line;
  }
  return null;
}

function parseWords(words: string[]): ParsedComment {
  const flags = words.filter((w) => w.startsWith('--'));
  const args = words.filter((w) => !w.startsWith('--'));
  const unknownFlag = flags.find((f) => f !== '--dry-run');
  if (unknownFlag !== undefined) {
    return { ok: false, error: `unknown option \`${clip(unknownFlag)}\`` };
  }
  const dryRun = flags.includes('--dry-run');
  const [first, ...rest] = args;
  if (first === undefined) return { ok: true, command: { kind: 'run', group: 'all', dryRun } };
  const keyword = first.toLowerCase();
  if (KEYWORDS.has(keyword)) {
    if (dryRun) return { ok: false, error: `\`--dry-run\` only applies to a run` };
    return keywordCommand(keyword, rest);
  }
  // `/parallel-run group 2` and `/parallel-run 2` mean the same; `group status` runs a group
  // that happens to be called like a keyword.
  const groupWords = keyword === 'group' ? rest : args;
  if (groupWords.length !== 1) {
    return { ok: false, error: 'give one group id, or `all`' };
  }
  const group = groupWords[0]!;
  if (group.toLowerCase() === 'all')
    return { ok: true, command: { kind: 'run', group: 'all', dryRun } };
  if (!ID.test(group)) return { ok: false, error: `\`${clip(group)}\` is not a group id` };
  return { ok: true, command: { kind: 'run', group, dryRun } };
}

function keywordCommand(keyword: string, rest: string[]): ParsedComment {
  if (keyword === 'retry') {
    if (rest.length !== 1) return { ok: false, error: '`retry` takes one task id' };
    const taskId = rest[0]!;
    if (!ID.test(taskId)) return { ok: false, error: `\`${clip(taskId)}\` is not a task id` };
    return { ok: true, command: { kind: 'retry', taskId } };
  }
  if (rest.length > 0) return { ok: false, error: `\`${keyword}\` takes no arguments` };
  if (keyword === 'status') return { ok: true, command: { kind: 'status' } };
  if (keyword === 'cancel') return { ok: true, command: { kind: 'cancel' } };
  return { ok: true, command: { kind: 'help' } };
}

/** Echoed text stays short and cannot break out of the inline code it is shown in. */
function clip(text: string): string {
  return text.replace(/`/g, "'").slice(0, 40);
}
