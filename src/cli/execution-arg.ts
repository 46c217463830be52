import { UsageError } from '../engine/errors.js';
import type { ExecutionState } from '../engine/state/schema.js';
import { findExecution } from '../engine/run/executions.js';
import { findRepoRoot } from '../engine/workspace/repo.js';

/**
 * The execution a command's one optional argument names (`status [ID]`, `resume [ID]`), else the
 * latest one of the repository `cwd` is in. An unknown id is a usage error that lists the known ids.
 */
export async function executionFromArgs(
  command: string,
  positionals: readonly string[],
  cwd: string,
): Promise<{ repoRoot: string; state: ExecutionState }> {
  if (positionals.length > 1) {
    throw new UsageError(`${command} takes one execution id, got ${positionals.length}`);
  }
  const repoRoot = await findRepoRoot(cwd);
  const { state } = await findExecution(repoRoot, positionals[0]);
  return { repoRoot, state };
}
