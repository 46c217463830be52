import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ParallelExecutorError } from '../errors.js';
import { ExecutionState } from '../state/schema.js';

export const STATE_FILE = 'PARALLEL_EXECUTION_STATUS.json';

/**
 * Write the state so that a reader (or a crash) only ever sees the old file or the new one:
 * temp file in the same folder, fsync, rename, fsync the folder.
 */
export async function writeStateAtomic(
  file: string,
  state: ExecutionState | string,
): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const text = typeof state === 'string' ? state : serialiseState(state);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function serialiseState(state: ExecutionState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** Read and validate a state file; every failure says which file and what is wrong with it. */
export async function readState(file: string): Promise<ExecutionState> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ParallelExecutorError(
      `cannot read ${file}: ${error.code ?? error.message}`,
      error.code === 'ENOENT'
        ? 'the execution folder has no state file: it was not written by parallel-executor, or was damaged'
        : null,
    );
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ParallelExecutorError(
      `${file}: not valid JSON (${(error as Error).message})`,
      'the state file is damaged: restore it, or remove the execution folder',
    );
  }
  const result = ExecutionState.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? '' : ` at "${issue.path.join('.')}"`;
    throw new ParallelExecutorError(
      `${file}: not a valid execution state${where}: ${issue?.message ?? 'invalid'}`,
      'the state file was written by another version or edited by hand',
    );
  }
  return result.data;
}

/**
 * Saves every change in order without piling up writes: while one write runs, later changes
 * coalesce into a single next write of the newest state. A change that only refreshes what an
 * agent is doing (progress, tokens so far) is `soon`: it waits up to PROGRESS_SAVE_MS for company,
 * so 32 agents reporting ten times a second cost a few writes a second, not hundreds of fsyncs.
 * Any other change (a status, a commit) is written at once, with whatever waited.
 */
export interface StateWriter {
  /**
   * Schedule a write that holds the state as it is now, or newer: the state is serialised when
   * its write starts, once for every change made meanwhile (a clone per change would cost the
   * whole state on every progress event of every agent).
   */
  save(state: ExecutionState, options?: { soon?: boolean }): Promise<void>;
  /** Writes what waits now, and resolves when every scheduled write has finished. */
  flush(): Promise<void>;
}

/** How long a progress-only change may wait before it is written. */
export const PROGRESS_SAVE_MS = 250;

export function createStateWriter(file: string, progressDelayMs = PROGRESS_SAVE_MS): StateWriter {
  let pending: ExecutionState | null = null;
  /** A change that must not wait is among the pending ones. */
  let urgent = false;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  const start = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    running ??= drain();
  };
  const later = (): void => {
    if (running !== null || timer !== null) return;
    timer = setTimeout(start, progressDelayMs);
  };

  const drain = async (): Promise<void> => {
    do {
      const snapshot = serialiseState(pending!);
      const settled = waiters;
      pending = null;
      urgent = false;
      waiters = [];
      try {
        await writeStateAtomic(file, snapshot);
        for (const waiter of settled) waiter.resolve();
      } catch (error) {
        for (const waiter of settled) waiter.reject(error);
      }
    } while (pending !== null && urgent);
    running = null;
    // Only progress came in during the write: it waits its turn.
    if (pending !== null) later();
  };

  return {
    save(state, options = {}) {
      pending = state;
      if (options.soon !== true) urgent = true;
      const done = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
      if (urgent) {
        if (running === null) start();
      } else {
        later();
      }
      return done;
    },
    async flush() {
      if (pending !== null && running === null) start();
      while (running !== null) {
        await running;
        if (pending !== null && running === null) start();
      }
    },
  };
}
