import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve, sep } from 'node:path';
import { procPids } from '../agents/proc.js';
import { taskBackupPrefix } from './backup.js';
import { git, NO_HOOKS } from './git-exec.js';
import type { GitIdentity } from './identity.js';
import { markedEntry } from './marked-entries.js';
import type { Mutex } from './mutex.js';
import { adminDir, ownAdmin, ownFolder, pruneWorktreesIn } from './worktree-admin.js';
import { retryOnLock } from './worktree.js';

/**
 * Worktrees kept ready between runs (`workspace.pool: N`). Checking a repository out is what a
 * run's set-up costs most: every file is a new inode, and on a slow disk or in a monorepo that is
 * seconds per task. With a pool, clean-up parks a finished task's worktree instead of removing it
 * (detached, every untracked and ignored file removed) and the next run moves it where a new task
 * needs one and checks the task's branch out there, which writes only the files that differ.
 *
 * A parked worktree is indistinguishable from a new one by the time an agent sees it: nothing of
 * the task before it survives (no file git does not track, no operation half done, no reflog,
 * no per-worktree config or refs). One that cannot be made so is removed as before.
 */
export const POOL_DIR = '.pool';

export function poolDirOf(worktreeRoot: string): string {
  return join(worktreeRoot, POOL_DIR);
}

/**
 * What the admin folder (`.git/worktrees/<name>`) of an idle, clean worktree holds. Anything else
 * (a rebase or bisect under way, a lock, a config or refs of its own, submodules, a sparse
 * checkout) is state a next task must not inherit: such a worktree is not parked.
 */
const IDLE_ADMIN = new Set([
  'HEAD',
  'ORIG_HEAD',
  'FETCH_HEAD',
  'AUTO_MERGE',
  'COMMIT_EDITMSG',
  'commondir',
  'gitdir',
  'index',
  'logs',
]);

/**
 * Where parking notes the HEAD it parked at (a file an idle worktree may hold; the take replaces
 * it with its own).
 */
const PARKED_AT = 'ORIG_HEAD';

/** Left by the task before: removed when it is parked (and HEAD's reflog, `logs`). */
const TASK_LEFTOVERS = ['ORIG_HEAD', 'FETCH_HEAD', 'AUTO_MERGE', 'COMMIT_EDITMSG'];

/** Why the admin folder holds more than an idle worktree's, or null. */
async function notIdle(admin: string): Promise<string | null> {
  const extra = (await readdir(admin)).filter((name) => !IDLE_ADMIN.has(name));
  return extra.length > 0 ? `its git state holds ${extra.join(', ')}` : null;
}

/** What `git ls-files` finds in a worktree that a checkout of its commit would not hold. */
interface Inside {
  /** Why its index cannot be handed on (entries marked not to be looked at), or null. */
  marked: string | null;
  /** Whether anything untracked is there, ignored or not (an empty folder too): a clean removes it. */
  untracked: boolean;
  /** The index's paths. */
  cached: string[];
}

/**
 * Index entries marked assume-unchanged or skip-worktree keep their mark through a checkout: the
 * next agent's edits there would be hidden from git. Untracked files and folders (`?`, ignored
 * ones included, an empty folder as itself) are what `git clean -ffdx` would remove.
 */
async function lookInside(worktree: string): Promise<Inside> {
  const entries = await git(worktree, [
    'ls-files',
    '-t',
    '-v',
    '-z',
    '--cached',
    '--others',
    '--directory',
  ]);
  const records = entries.stdout.split('\0');
  const marked = records.filter((record) => markedEntry(record) !== null);
  return {
    marked:
      marked.length > 0 ? `${marked.length} index entries are marked not to be looked at` : null,
    untracked: records.some((record) => record.startsWith('? ')),
    cached: records
      .filter((record) => record !== '' && !record.startsWith('? '))
      .map((record) => record.slice(2)),
  };
}

/**
 * What a new checkout would not have and git does not see, as paths inside `folder` (its own
 * `.git` aside; symlinks are not followed): a `.git` below the top, a FIFO, socket or device
 * (git's clean leaves them; an agent reading every file blocks on a FIFO), and a file or folder
 * whose permissions are not what a checkout gives (git keeps a file's executable bit only: a
 * folder made read-only stays so). With `folders`, every folder's path is added to it.
 */
function unlikeNewFiles(folder: string, folders?: Set<string>): string[] {
  // Synchronous on purpose: a few microseconds a file this way, ten times more through the
  // thread pool, and every task taking a parked worktree waits for it.
  const umask = currentUmask();
  const stat = (path: string) => {
    try {
      return lstatSync(join(folder, path));
    } catch {
      return null;
    }
  };
  const found: string[] = [];
  const look = (path: string): void => {
    const seen = stat(path);
    if (seen === null || seen.isSymbolicLink()) return;
    const mode = seen.mode & 0o777;
    if (seen.isDirectory()) {
      if (path !== '') folders?.add(path);
      if (mode !== (0o777 & ~umask)) found.push(`${path || '.'} (mode ${mode.toString(8)})`);
      let names: string[] = [];
      try {
        names = readdirSync(join(folder, path));
      } catch {
        // Unreadable: its mode said so above.
      }
      for (const name of names) {
        // The worktree's own `.git` aside. One deeper (a file or a folder in a tracked folder)
        // is skipped by git's listing and its clean alike, and makes git there another repository.
        if (name === '.git') {
          if (path !== '') found.push(join(path, name));
        } else look(join(path, name));
      }
      return;
    }
    if (!seen.isFile()) {
      found.push(path);
      return;
    }
    const wanted = (mode & 0o100 ? 0o777 : 0o666) & ~umask;
    if (mode !== wanted) found.push(`${path} (mode ${mode.toString(8)})`);
  };
  look('');
  return found;
}

/** The umask git's checkouts get; in a worker thread (which cannot read it), the usual 022. */
function currentUmask(): number {
  try {
    return process.umask();
  } catch {
    return 0o022;
  }
}

/** Why `worktree` holds what a new checkout would not, or null. Its folders go in `folders`. */
function unseenFiles(worktree: string, folders?: Set<string>): string | null {
  const found = unlikeNewFiles(worktree, folders);
  return found.length > 0 ? `it holds what git does not see (${found.join(', ')})` : null;
}

/** Whether `git worktree lock` holds the worktree of `admin`. */
async function isLocked(admin: string): Promise<boolean> {
  return (await lstat(join(admin, 'locked')).catch(() => null)) !== null;
}

/**
 * Why the parked worktree `path` cannot be handed to a task as it is (anything in the pool can
 * have been changed since it was parked: by an agent writing outside its worktree, by the user),
 * or, when it can be, what git lists inside it.
 */
async function unusable(repoRoot: string, path: string): Promise<string | Inside> {
  const admin = await ownAdmin(repoRoot, path);
  if (admin === null) return 'not a worktree of this repository parked there';
  // Parking removed HEAD's reflog and noted HEAD: a reflog there now, or another HEAD (a commit
  // made where reflogs are off, core.logAllRefUpdates=false), means HEAD moved since. (One parked
  // before parking noted it has no note: its reflog says.)
  const [log, head, parkedAt] = await Promise.all([
    lstat(join(admin, 'logs')).catch(() => null),
    readFile(join(admin, 'HEAD'), 'utf8').catch(() => null),
    readFile(join(admin, PARKED_AT), 'utf8').catch(() => null),
  ]);
  if (log !== null || head === null || (parkedAt !== null && head !== parkedAt))
    return 'its HEAD moved since it was parked';
  const idle = await notIdle(admin);
  if (idle !== null) return idle;
  // The files' walk while git lists the index.
  const listed = lookInside(path);
  const folders = new Set<string>();
  const unseen = unseenFiles(path, folders);
  const inside = await listed;
  if (inside.marked !== null || unseen !== null) return inside.marked ?? unseen!;
  // An index entry where a folder is (a gitlink or a file staged there): git lists neither that
  // folder nor what is in it, and the checkout that drops the entry leaves the folder. The clean
  // removes it.
  const hidden = inside.cached.some((cached) => folders.has(cached));
  return { ...inside, untracked: inside.untracked || hidden };
}

/**
 * A commit made in a parked worktree (by an agent outside its own worktree, or by the user) that
 * no ref holds is kept under `<keepUnder>/<name>` before the worktree goes. Returns that ref, or
 * null when there was nothing to keep.
 */
async function keepHead(repoRoot: string, path: string, keepUnder: string): Promise<string | null> {
  const head = await git(path, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], {
    allowExitCodes: [1, 128],
  });
  const sha = head.stdout.trim();
  if (sha === '') return null;
  const held = await git(repoRoot, ['for-each-ref', '--count=1', `--contains=${sha}`]);
  if (held.stdout.trim() !== '') return null;
  const ref = `${keepUnder}/${basename(path)}`;
  await git(repoRoot, ['update-ref', ref, sha]);
  return ref;
}

/**
 * Out of the pool with one that cannot be used: a symlink or a file is unlinked (never what it
 * points to), a folder git no longer knows is deleted, a worktree of this repository is removed by
 * git. Anything else (a folder that is no worktree of ours, whose admin folder, if any, is still
 * there) is left as it is. The ref a commit found there was kept at (`keepHead`) goes to `kept`
 * at once: said even when the removal then fails.
 */
async function discard(
  repoRoot: string,
  path: string,
  keepUnder: string,
  kept?: (ref: string) => void,
): Promise<void> {
  const stat = await lstat(path).catch(() => null);
  if (stat === null) return;
  if (!stat.isDirectory()) {
    await rm(path, { force: true });
    return;
  }
  const admin = await ownAdmin(repoRoot, path);
  if (admin !== null) {
    // `git worktree lock`: someone said it stays (taken out of use, not removed).
    if (await isLocked(admin)) return;
    const ref = await keepHead(repoRoot, path, keepUnder);
    if (ref !== null) kept?.(ref);
    // During a run, beside other tasks' `git worktree add`, which this reads past.
    await retryOnLock(() => git(repoRoot, ['worktree', 'remove', '--force', '--force', path]));
    return;
  }
  const named = await adminDir(path);
  if (named !== null && (await lstat(named).catch(() => null)) === null)
    await rm(path, { recursive: true, force: true });
}

export type ParkResult = { parked: string } | { parked: null; reason: string };

/**
 * Park a finished task's worktree in the pool (the caller made sure there is room) if it can be
 * made like new. Called where clean-up would remove it, after its work was kept: what it discards
 * (uncommitted changes, untracked and ignored files) removal would have discarded too.
 */
export async function parkWorktree(
  repoRoot: string,
  worktree: string,
  pool: string,
): Promise<ParkResult> {
  const no = (reason: string): ParkResult => ({ parked: null, reason });
  const users = processesInside(worktree);
  if (users.length > 0) return no(`processes still use it (pid ${users.join(', ')})`);
  const admin = await ownAdmin(repoRoot, worktree);
  if (admin === null) return no('not a linked worktree of this repository');
  const extra = await notIdle(admin);
  if (extra !== null) return no(extra);
  // Clean-up parks and removes tasks' worktrees in parallel: another's admin folder may vanish
  // while this reads every worktree's.
  await retryOnLock(() =>
    git(worktree, [...NO_HOOKS, 'checkout', '--quiet', '--force', '--detach']),
  );
  await git(worktree, ['clean', '-ffdxq']);
  const left = await git(worktree, [
    'status',
    '--porcelain',
    '--ignored',
    '--untracked-files=all',
    '-z',
  ]);
  if (left.stdout !== '') return no('files remain after cleaning it');
  const unseen = unseenFiles(worktree);
  if (unseen !== null) return no(unseen);
  const { marked } = await lookInside(worktree);
  if (marked !== null) return no(marked);
  await Promise.all(
    [...TASK_LEFTOVERS, 'logs'].map((name) =>
      rm(join(admin, name), { recursive: true, force: true }),
    ),
  );
  // What HEAD was parked at, for the take to compare (no reflog says so where reflogs are off).
  await writeFile(join(admin, PARKED_AT), await readFile(join(admin, 'HEAD'), 'utf8'));
  await mkdir(pool, { recursive: true });
  if (!(await ownFolder(pool))) return no(`${pool} is not a folder of its own (a symlink?)`);
  const target = join(pool, randomBytes(6).toString('hex'));
  await retryOnLock(() => git(repoRoot, ['worktree', 'move', worktree, target]));
  return { parked: target };
}

/** The real path of `path`, or `path` itself when it cannot be resolved (gone). */
function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Live processes whose working folder or open files are inside `folder`: a daemon an agent left
 * would write into the next task's checkout. Empty where there is no /proc.
 */
function processesInside(folder: string): number[] {
  return processesInsideEach([folder]).get(folder) ?? [];
}

/**
 * Per folder, the live processes whose working folder or open files are inside it, from one
 * look at /proc (each process's links read once, whatever the number of folders).
 */
function processesInsideEach(folders: readonly string[]): Map<string, number[]> {
  // /proc shows real paths: a worktree reached through a symlink is found under its real one.
  const names = folders.map((folder) => ({ folder, as: [folder, realpathOr(folder)] }));
  const holding = (target: string | null) =>
    target === null
      ? []
      : names
          .filter(({ as }) => as.some((f) => target === f || target.startsWith(f + sep)))
          .map(({ folder }) => folder);
  const link = (file: string) => {
    try {
      return readlinkSync(file);
    } catch {
      return null;
    }
  };
  const found = new Map<string, number[]>();
  const note = (pid: number, held: readonly string[]) => {
    for (const folder of held) found.set(folder, [...(found.get(folder) ?? []), pid]);
  };
  for (const entry of procPids() ?? []) {
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const held = new Set(holding(link(`/proc/${entry}/cwd`)));
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      // Another user's process (not ours to wait for), or gone.
    }
    for (const fd of fds)
      for (const folder of holding(link(`/proc/${entry}/fd/${fd}`))) held.add(folder);
    note(pid, [...held]);
  }
  return found;
}

/**
 * The worktrees parked in `dir` that no process works in. One a process works in (a watcher an
 * agent started there, someone's shell) would have it work in the next task's checkout: it stays
 * in the pool, for a run after. One look at /proc for all of them.
 */
async function usablePaths(dir: string): Promise<string[]> {
  const paths = (await poolNames(dir)).map((name) => join(dir, name));
  const busy = processesInsideEach(paths);
  return paths.filter((path) => !busy.has(path));
}

/** `unusable`, where one git cannot even read (its index garbage, say) is as unusable as any other. */
function checkParked(repoRoot: string, path: string): Promise<string | Inside> {
  return unusable(repoRoot, path).catch((error: unknown) => String(error));
}

/** How old a look made ahead of a take (`lookAtPool`) may be for the take to go by it. */
const AHEAD_MS = 1_000;

/** The pool looked at before a run has its execution: its listing, and its first worktrees' checks. */
export interface PoolLook {
  entries: Promise<string[]>;
  /** Per worktree looked at: when the look started, and what it found (`unusable`). */
  checks: Map<string, { at: number; found: Promise<string | Inside> }>;
}

/**
 * Look at the pool of `dir` and at its first `count` worktrees now, while the run's pre-flight
 * runs, so that its first tasks find theirs looked at: the looks only read (one found unusable is
 * taken out of the pool by the take, once the run has its go). A take goes by a look only while
 * it is younger than AHEAD_MS; nothing of this run writes into the pool before its agents start.
 */
export function lookAtPool(dir: string, repoRoot: string, count: number): PoolLook {
  const checks: PoolLook['checks'] = new Map();
  const entries = usablePaths(dir);
  entries.then(
    (paths) => {
      for (const path of paths.slice(0, count)) {
        checks.set(path, { at: Date.now(), found: checkParked(repoRoot, path) });
      }
    },
    () => undefined,
  );
  return { entries, checks };
}

/**
 * The pool of one worktree root as a run uses it: listed once, each parked worktree handed to one
 * task only.
 */
export class WorktreePool {
  private entries: Promise<string[]> | null = null;

  constructor(
    readonly dir: string,
    private readonly repoRoot: string,
    /** Where a commit found in a parked worktree is kept (`poolKeepPrefix`). */
    private readonly keepUnder: string,
    /** The pool as the run looked at it while it got ready (`lookAtPool` of the same `dir`). */
    private readonly early?: PoolLook,
  ) {}

  /**
   * A parked worktree for one task, or null when none is left. One that is not as it was parked
   * is taken out of the pool instead; a commit found in it is kept under a ref, handed to `kept`.
   */
  async take(kept?: (ref: string) => void): Promise<PooledWorktree | null> {
    const entries = await this.list();
    for (let path = entries.shift(); path !== undefined; path = entries.shift()) {
      const ahead = this.early?.checks.get(path);
      this.early?.checks.delete(path);
      const found =
        ahead !== undefined && Date.now() - ahead.at < AHEAD_MS
          ? await ahead.found
          : await checkParked(this.repoRoot, path);
      if (typeof found !== 'string') return { path, untracked: found.untracked };
      await discard(this.repoRoot, path, this.keepUnder, kept).catch(() => undefined);
    }
    return null;
  }

  /**
   * The worktrees parked there that no process works in (`usablePaths`), listed once: a run lists
   * them while it gets ready, before its first take.
   */
  list(): Promise<string[]> {
    this.entries ??= this.early?.entries.then((paths) => [...paths]) ?? usablePaths(this.dir);
    return this.entries;
  }

  /** Out of the pool with one that turned out unusable, by the rules of `discard`. */
  async drop(path: string, kept?: (ref: string) => void): Promise<void> {
    await discard(this.repoRoot, path, this.keepUnder, kept);
  }

  /** Hand back one a task could not use (its branch existed). */
  async giveBack(pooled: PooledWorktree): Promise<void> {
    (await this.entries)?.push(pooled.path);
  }
}

/** A parked worktree handed to a task, as the take found it. */
export interface PooledWorktree {
  path: string;
  /** Untracked files or folders appeared in it since it was parked: a clean goes with the checkout. */
  untracked: boolean;
}

/**
 * Make the parked worktree `pooled` the worktree of a task: moved to `path` and on `branch` (made
 * by the caller at the task's start). The checkout writes only what differs between the commit it
 * was parked at and the branch (at `sha`). Its HEAD reflog is started afresh, as a new worktree's is: what it
 * says is read to account for the agent's commits.
 */
export async function openPooledWorktree(
  repoRoot: string,
  pooled: PooledWorktree,
  path: string,
  branch: string,
  sha: string,
  lock: Mutex,
  identity: GitIdentity,
): Promise<void> {
  await lock.shared(() => moveWorktree(repoRoot, pooled.path, path));
  await lock.checkout(async () => {
    // Beside other tasks' `git worktree add`: their half-made admin folders are retried past.
    await retryOnLock(() =>
      git(path, [...NO_HOOKS, 'checkout', '--quiet', '--force', branch, '--']),
    );
    // Whatever appeared since it was parked (nothing should have; the take looked).
    if (pooled.untracked) await git(path, ['clean', '-ffdxq']);
  });
  const admin = await adminDir(path);
  if (admin === null) throw new Error(`${path} is not a linked worktree after moving it there`);
  // What `git worktree add` followed by `git reset --hard` (a new worktree) leaves: its creation,
  // then the reset, in the HEAD reflog.
  const who = `${identity.name} <${identity.email}> ${Math.floor(Date.now() / 1000)} +0000`;
  // Parking removed the task before's; any there now were written since (a FETCH_HEAD an agent's
  // `git merge FETCH_HEAD` would take): a new worktree has none.
  await Promise.all(TASK_LEFTOVERS.map((name) => rm(join(admin, name), { force: true })));
  await mkdir(join(admin, 'logs'), { recursive: true });
  await writeFile(
    join(admin, 'logs', 'HEAD'),
    `${'0'.repeat(sha.length)} ${sha} ${who}\n${sha} ${sha} ${who}\treset: moving to HEAD\n`,
  );
  // The reset's ORIG_HEAD too: an agent's `git reset --hard ORIG_HEAD` finds what it would in a
  // new worktree.
  await writeFile(join(admin, 'ORIG_HEAD'), `${sha}\n`);
}

/** Where a commit found in a parked worktree is kept: `refs/parallel-executor/<execution>/pool/`. */
export function poolKeepPrefix(executionId: string): string {
  return taskBackupPrefix(executionId, 'pool');
}

/** The names in the pool folder, sorted; none when it is not a folder of its own. */
async function poolNames(pool: string): Promise<string[]> {
  if (!(await ownFolder(pool))) return [];
  return (await readdir(pool).catch(() => [] as string[])).sort();
}

/** How many worktrees the pool holds. */
export async function pooledCount(pool: string): Promise<number> {
  return (await poolNames(pool)).length;
}

/**
 * `git worktree move` without a git process (a run takes many at once, and each process costs the
 * orchestrator's main thread): the admin folder's `gitdir` file (the absolute path of the
 * worktree's `.git` file, gitrepository-layout(5)) pointed at its new place, then the folder renamed.
 * The worktree's own `.git` file names the admin folder, which does not move. Where git keeps
 * relative paths (`worktree.useRelativePaths`), git does it.
 */
async function moveWorktree(repoRoot: string, from: string, to: string): Promise<void> {
  const admin = await adminDir(from);
  const link = admin === null ? null : join(admin, 'gitdir');
  const recorded = link === null ? null : await readFile(link, 'utf8').catch(() => null);
  const own = await readFile(join(from, '.git'), 'utf8').catch(() => '');
  if (
    link === null ||
    recorded === null ||
    !isAbsolute(recorded.trim()) ||
    resolve(recorded.trim()) !== join(from, '.git') ||
    !isAbsolute(own.replace(/^gitdir: /, '').trim())
  ) {
    await retryOnLock(() => git(repoRoot, ['worktree', 'move', from, to]));
    return;
  }
  // The admin folder first: stopped between the two, git knows a worktree at the task's place
  // with no folder there, which resume or any `git worktree prune` clears, and the folder left in
  // the pool is one git forgot, which the next take deletes. The other way round, a prune would
  // leave a folder at the task's place that git does not know, for the user to move away.
  await writeFile(link, `${join(to, '.git')}\n`);
  try {
    await rename(from, to);
  } catch (error) {
    // Not moved: git must find it where it still is (and a new worktree be made at `to`).
    await writeFile(link, recorded);
    throw error;
  }
}

/** Remove the pool's worktrees beyond the first `keep` (all of them with 0). */
export async function drainPool(
  repoRoot: string,
  pool: string,
  keep: number,
  keepUnder: string,
): Promise<number> {
  const names = await poolNames(pool);
  let removed = 0;
  for (const name of names.slice(keep)) {
    const path = join(pool, name);
    // Through a symlink, git would remove the worktree it points to: only the link goes.
    if ((await lstat(path)).isDirectory()) {
      const admin = await ownAdmin(repoRoot, path);
      if (admin !== null && (await isLocked(admin))) continue;
      if (admin !== null) await keepHead(repoRoot, path, keepUnder);
      await git(repoRoot, ['worktree', 'remove', '--force', '--force', path], {
        allowExitCodes: [128],
      });
    }
    await rm(path, { recursive: true, force: true });
    removed += 1;
  }
  if (removed > 0) await pruneWorktreesIn(repoRoot, [pool]);
  // Gone once empty (a locked worktree stays, in it).
  if (keep === 0 && (await poolNames(pool)).length === 0)
    await rm(pool, { recursive: true, force: true });
  return removed;
}
