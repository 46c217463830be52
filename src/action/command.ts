/**
 * `/parallel-run [group ID|all] [--dry-run]` in a comment: what the comment asks for. Only the
 * first line counts, so quoting the command further down a comment does nothing.
 */
export type RunCommand =
  | { kind: 'run'; group: string | null; dryRun: boolean }
  | { kind: 'status' | 'cancel' | 'help' }
  | { kind: 'retry'; task: string }
  | { kind: 'invalid'; reason: string };

export function parseRunCommand(body: string): RunCommand | null {
  const first = body.trimStart().split(/\r?\n/, 1)[0]?.trim() ?? '';
  const words = first.split(/\s+/);
  if (words[0] !== '/parallel-run') return null;
  const args = words.slice(1);
  const dryRun = args.includes('--dry-run');
  const rest = args.filter((a) => a !== '--dry-run');
  const [verb, value, ...extra] = rest;
  if (verb === undefined || verb === 'all')
    return extra.length || value ? invalid(first) : { kind: 'run', group: null, dryRun };
  if (verb === 'status' || verb === 'cancel' || verb === 'help')
    return value ? invalid(first) : { kind: verb };
  if (verb === 'retry')
    return value && !extra.length ? { kind: 'retry', task: value } : invalid(first);
  if (verb === 'group')
    return value && !extra.length ? { kind: 'run', group: value, dryRun } : invalid(first);
  return rest.length === 1 ? { kind: 'run', group: verb, dryRun } : invalid(first);
}

function invalid(line: string): RunCommand {
  return {
    kind: 'invalid',
    reason: `cannot read "${line.slice(0, 100)}"; try \`/parallel-run help\``,
  };
}
