/**
 * Execution ids: short, safe in a workflow input, a `run-name`, a branch name and a check run's
 * `external_id` (`<executionId>:<taskId>`), so they hold only lower-case letters, digits and
 * single dashes, and never a colon.
 */
const EXECUTION_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export function isExecutionId(text: string): boolean {
  return text.length <= 64 && EXECUTION_ID.test(text);
}

/** `pr42-20261105-103000-3f9a` for a PR, `push-20261105-103000-3f9a` for a push. */
export function newExecutionId(
  origin: { pr: number | null },
  now: Date,
  random: () => number = Math.random,
): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${origin.pr === null ? 'push' : `pr${origin.pr}`}-${stamp}-${suffix}`;
}

/** `external_id` of a task's check run. */
export function taskExternalId(executionId: string, taskId: string): string {
  return `${executionId}:${taskId}`;
}

/** Splits a check run's `external_id` into execution and task (null task: the summary check run). */
export function parseExternalId(
  externalId: string | null,
): { executionId: string; taskId: string | null } | null {
  if (!externalId) return null;
  const colon = externalId.indexOf(':');
  const executionId = colon === -1 ? externalId : externalId.slice(0, colon);
  if (!isExecutionId(executionId)) return null;
  return { executionId, taskId: colon === -1 ? null : externalId.slice(colon + 1) };
}
