import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { isProcessAlive } from '../agents/process-group.js';
import { statFields } from '../agents/proc.js';
import { PreflightError } from '../errors.js';
import { TOOL_DIR } from './repo.js';

/**
 * One repository, one writer. `run`, `resume` and `clean` each hold `.parallel-executor/lock`
 * while they work: two at once would run every agent twice, reuse each other's branch names and
 * overwrite each other's state, or remove a worktree an agent is working in. The lock file is
 * created atomically (`wx`); it names its holder (pid, the process's start time, host), so a
 * holder that died — even by SIGKILL, or whose pid now belongs to another process — is recognised
 * and its lock taken over instead of blocking forever.
 */

export const LOCK_FILE = 'lock';

export interface RepoLockOwner {
  /** What holds it: `run`, `resume`, `clean`. */
  command: string;
  /** The execution it works on; null while a run has not claimed its id yet, or for `clean`. */
  executionId: string | null;
  pid: number;
}

interface LockRecord extends RepoLockOwner {
  /** Tells this lock from another one the same process takes (tests run several in one process). */
  token: string;
  host: string;
  /** Field 22 of /proc/<pid>/stat: a pid reused by another process has another start time. */
  startTime: string | null;
  acquiredAt: string;
}

export interface RepoLock {
  readonly file: string;
  /** Name the execution once it is known (a run claims its id after taking the lock). */
  setExecution(executionId: string): Promise<void>;
  /** Idempotent; only ever removes this holder's own lock. */
  release(): Promise<void>;
}

export function repoLockFile(repoRoot: string): string {
  return join(repoRoot, TOOL_DIR, LOCK_FILE);
}

/**
 * Take the repository's lock, or throw a PreflightError naming the holder (command, execution,
 * pid, since when) and what to do. A stale lock (holder gone) is taken over.
 */
export async function acquireRepoLock(repoRoot: string, owner: RepoLockOwner): Promise<RepoLock> {
  const file = repoLockFile(repoRoot);
  // Set when this call made the tool's folder: a refused or failed first run leaves no trace.
  const madeDir = await mkdir(join(repoRoot, TOOL_DIR), { recursive: true });
  const record: LockRecord = {
    ...owner,
    token: randomUUID(),
    host: hostname(),
    startTime: processStartTime(owner.pid),
    acquiredAt: new Date().toISOString(),
  };
  for (let attempt = 0; ; attempt += 1) {
    if (await createExclusive(file, record)) break;
    const holder = await readRecord(file);
    if (holder === undefined) continue; // released in between: try again
    if (holder === null || isHeld(holder) || attempt >= 5) throw heldError(file, holder, owner);
    await takeOver(file, holder);
  }
  return handle(file, record, madeDir !== undefined);
}

function handle(file: string, record: LockRecord, madeDir: boolean): RepoLock {
  let released = false;
  // A forced exit (a second Ctrl-C) skips every `finally`; the lock goes anyway.
  const onExit = () => {
    if (!released && ownsSync(file, record.token)) unlinkSync(file);
  };
  process.on('exit', onExit);
  return {
    file,
    setExecution: async (executionId) => {
      record.executionId = executionId;
      const temp = `${file}.${record.token}`;
      await writeFile(temp, serialise(record));
      if (await owns(file, record.token)) await rename(temp, file);
      else await unlink(temp);
    },
    release: async () => {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      if (await owns(file, record.token)) await unlink(file).catch(ignoreMissing);
      // Only when empty: rmdir refuses a folder with anything in it.
      if (madeDir) await rmdir(dirname(file)).catch(() => undefined);
    },
  };
}

/**
 * Write the record to a file of our own, then hard-link it to the lock's name: link fails when the
 * name exists, and the lock is never seen half-written.
 */
async function createExclusive(file: string, record: LockRecord): Promise<boolean> {
  const temp = `${file}.${record.token}`;
  await writeFile(temp, serialise(record));
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(ignoreMissing);
  }
}

/** The holder; null when the file is unreadable (half-written or foreign); undefined when gone. */
async function readRecord(file: string): Promise<LockRecord | null | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    if (typeof parsed.pid !== 'number' || typeof parsed.token !== 'string') return null;
    return parsed as LockRecord;
  } catch {
    return null;
  }
}

/**
 * Whether the holder may still be working. On another host nothing can be checked, so it is held.
 * Here: its pid is alive and, where /proc tells, it is the same process that took the lock.
 */
function isHeld(holder: LockRecord): boolean {
  if (holder.host !== hostname()) return true;
  if (!isProcessAlive(holder.pid)) return false;
  const now = processStartTime(holder.pid);
  return holder.startTime === null || now === null || now === holder.startTime;
}

/**
 * Replace a stale lock. Two processes may find the same stale lock at once; a short-lived
 * `lock.takeover` folder (mkdir is atomic) lets one of them at a time check again and remove it.
 */
async function takeOver(file: string, stale: LockRecord): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process is taking over; a guard older than a few seconds was left by a crash.
    const made = (await stat(guard).catch(() => null))?.mtimeMs ?? 0;
    if (Date.now() - made > 10_000) await rmdir(guard).catch(ignoreMissing);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return;
  }
  try {
    const current = await readRecord(file);
    if (current?.token === stale.token) await unlink(file).catch(ignoreMissing);
  } finally {
    await rmdir(guard).catch(ignoreMissing);
  }
}

function heldError(file: string, holder: LockRecord | null, owner: RepoLockOwner): PreflightError {
  if (holder === null) {
    return new PreflightError(
      `cannot ${owner.command}: the repository lock ${file} exists but cannot be read`,
      `It was not written by parallel-executor, or is damaged. If no parallel-executor is running in this repository, remove ${file} and try again.`,
    );
  }
  const here = holder.host === hostname();
  const pid = `${holder.executionId === null ? 'pid' : 'orchestrator pid'} ${holder.pid}${here ? '' : ` on ${holder.host}`}`;
  const what =
    holder.executionId === null
      ? `a \`${holder.command}\` is still running in this repository (${pid})`
      : `execution ${holder.executionId} is still running (${pid})`;
  const resume =
    holder.executionId === null || holder.command === 'clean'
      ? ''
      : ` \`parallel-executor resume ${holder.executionId}\` continues a stopped execution.`;
  const hint = here
    ? `Wait for it to finish, or stop it (Ctrl-C in its terminal, or kill ${holder.pid}), then ${owner.command} again.${resume}`
    : `Wait for it to finish on ${holder.host}. If nothing runs there any more, remove ${file}.`;
  return new PreflightError(
    `cannot ${owner.command}: ${what}: \`${holder.command}\` since ${holder.acquiredAt}; nothing was started`,
    hint,
  );
}

/** The start time of a process (clock ticks since boot), where /proc has it; null elsewhere. */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[22 - 3] ?? null;
}

async function owns(file: string, token: string): Promise<boolean> {
  const current = await readRecord(file).catch(() => null);
  return current !== null && current !== undefined && current.token === token;
}

function ownsSync(file: string, token: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as Partial<LockRecord>).token === token;
  } catch {
    return false;
  }
}

function serialise(record: LockRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
