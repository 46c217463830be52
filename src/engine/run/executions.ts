/**
 * The executions of a repository, one folder each under `.parallel-executor/executions/`: listed,
 * looked up by id, and told apart as running or finished. run, resume, status, clean and demo all
 * find executions here, so an id means the same to each of them.
 */
import { readdir } from 'node:fs/promises';
import { ParallelExecutorError, UsageError } from '../errors.js';
import type { ExecutionState } from '../state/schema.js';
import { isProcessAlive } from '../agents/process-group.js';
import { readState } from '../monitor/state-store.js';
import { executionPaths, executionsDir } from './paths.js';

export interface ExecutionEntry {
  id: string;
  dir: string;
  /** Null when the status file is missing or invalid; `error` says why. */
  state: ExecutionState | null;
  error: string | null;
}

/** Every execution folder, oldest first (by `started_at`; unreadable ones first, by id). */
export async function listExecutions(repoRoot: string): Promise<ExecutionEntry[]> {
  const root = executionsDir(repoRoot);
  let names: string[];
  try {
    const entries = await readdir(root, { withFileTypes: true });
    names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const found = await Promise.all(
    names.map(async (id): Promise<ExecutionEntry> => {
      const { dir, stateFile } = executionPaths(repoRoot, id);
      try {
        return { id, dir, state: await readState(stateFile), error: null };
      } catch (error) {
        return {
          id,
          dir,
          state: null,
          error: error instanceof Error ? error.message : String(error),
        };
      }
    }),
  );
  return found.sort(
    (a, b) =>
      (a.state?.started_at ?? '').localeCompare(b.state?.started_at ?? '') ||
      a.id.localeCompare(b.id),
  );
}

/**
 * The execution with this id, or the latest one. An unknown id is a usage error that lists the
 * known ids (the id is looked up among the folders, never joined into a path).
 */
export async function findExecution(
  repoRoot: string,
  id?: string,
): Promise<{ dir: string; state: ExecutionState }> {
  const entries = await listExecutions(repoRoot);
  if (id === undefined) {
    const readable = entries.filter((entry) => entry.state !== null);
    const latest = readable.at(-1);
    if (latest === undefined || latest.state === null) {
      throw new ParallelExecutorError(
        `no execution found in ${executionsDir(repoRoot)}`,
        entries.length > 0
          ? `${entries.length} folder(s) there have no readable status file`
          : 'run `parallel-executor run` first',
      );
    }
    return { dir: latest.dir, state: latest.state };
  }
  const entry = entries.find((candidate) => candidate.id === id);
  if (entry === undefined) {
    const known = entries.map((candidate) => candidate.id);
    throw new UsageError(
      `unknown execution "${id}"`,
      known.length === 0
        ? `there are no executions in ${executionsDir(repoRoot)}`
        : `known executions: ${known.join(', ')}`,
    );
  }
  if (entry.state === null)
    throw new ParallelExecutorError(entry.error ?? `${entry.dir}: unreadable`);
  return { dir: entry.dir, state: entry.state };
}

/** The execution is still owned by a live orchestrator: nothing of it may be removed. */
export function isExecutionRunning(state: ExecutionState): boolean {
  if (state.status !== 'pending' && state.status !== 'in_progress') return false;
  return state.orchestrator_pid !== null && isProcessAlive(state.orchestrator_pid);
}

/** Finished for good: completed, failed or cancelled (a crashed run is resumable, not finished). */
export function isExecutionFinished(state: ExecutionState): boolean {
  return state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled';
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
