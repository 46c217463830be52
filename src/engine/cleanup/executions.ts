import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ParallelExecutorError, UsageError } from '../errors.js';
import { ExecutionState } from '../monitor/state.js';

export const STATUS_FILE = 'PARALLEL_EXECUTION_STATUS.json';

/** `<repoRoot>/.parallel-executor/executions`: one folder per execution, named by its id. */
export function executionsRoot(repoRoot: string): string {
  return path.join(repoRoot, '.parallel-executor', 'executions');
}

export interface ExecutionEntry {
  id: string;
  dir: string;
  /** Null when the status file is missing or invalid; `error` says why. */
  state: ExecutionState | null;
  error: string | null;
}

/** Every execution folder, oldest first (by `started_at`; unreadable ones first, by id). */
export async function listExecutions(repoRoot: string): Promise<ExecutionEntry[]> {
  const root = executionsRoot(repoRoot);
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
      const dir = path.join(root, id);
      try {
        return { id, dir, state: await loadExecutionState(dir), error: null };
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

/** Read and validate `PARALLEL_EXECUTION_STATUS.json` in an execution folder. */
export async function loadExecutionState(executionDir: string): Promise<ExecutionState> {
  const file = path.join(executionDir, STATUS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error)) {
      throw new ParallelExecutorError(
        `${file}: missing`,
        'the execution folder has no status file; it was not written by parallel-executor or was damaged',
      );
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ParallelExecutorError(
      `${file}: not valid JSON (${(error as Error).message})`,
      'the status file is damaged; restore it or remove the execution folder',
    );
  }
  const parsed = ExecutionState.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new ParallelExecutorError(
      `${file}: not a valid execution state${where}: ${issue?.message ?? 'invalid'}`,
      'the status file was written by another version or edited by hand',
    );
  }
  return parsed.data;
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
        `no execution found in ${executionsRoot(repoRoot)}`,
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
        ? `there are no executions in ${executionsRoot(repoRoot)}`
        : `known executions: ${known.join(', ')}`,
    );
  }
  if (entry.state === null)
    throw new ParallelExecutorError(entry.error ?? `${entry.dir}: unreadable`);
  return { dir: entry.dir, state: entry.state };
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
