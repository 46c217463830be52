import { closeSync, constants, fstatSync, openSync, readSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ticker } from '../agents/ticker.js';
import { holdingCommit, taskBackupPrefix } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';

/**
 * Commits an agent made and then dropped (an amend, a reset, commits on a detached HEAD) are found
 * at collection in the reflogs of its worktree's HEAD and of its branch. Another agent's
 * `git reflog expire --expire=now --all && git gc --prune=now` (a "clean-up of the repository")
 * empties every worktree's reflogs and prunes those commits while this task still runs. So, while
 * an agent runs, each new commit its HEAD or branch reflog names is pinned under the task's
 * `pinned` ref (one commit whose parents are the pinned commits, as the checkout watch holds the
 * user's tips), soon after it appears; collection reads the pin besides the reflogs (run/keep.ts)
 * and deletes it once what it held is kept.
 *
 * How soon: both reflogs' folders are watched (inotify; the folder, since `reflog expire` renames a
 * new file over the reflog), and both reflogs are also looked at on the status files' shared
 * half-second tick (a stat each; git runs only when a reflog changed). Measured on 2 cores: git
 * writes the HEAD reflog about 3 ms before `git commit` exits, the watch hears it at once, and the
 * pin takes three git commands (cat-file, commit-tree, update-ref), about 10 ms from the commit
 * to the pin, which usually lands before the agent's next command (its reset or amend) has run.
 * An agent that commits, resets and runs `reflog expire --expire=now --all && gc --prune=now` in
 * one command line, with no pause: its commit was kept 20 times of 20; with the watches off (the
 * tick alone) 0 of 8, 1 to 5 of 8 with 0.1 to 0.3 s before the expire, 8 of 8 with 0.6 s. What
 * remains: a commit made, dropped and pruned within those ~10 ms, or within half a second when
 * no watch can be had (no reflog folder yet, inotify watches exhausted); and a gc whose walk of
 * the reachable objects began before the pin was written. The pin is a ref like the others: a
 * kill -9 of the orchestrator leaves it for `resume` (or `clean`) to keep what it holds.
 *
 * The reflogs are the agent's to write: only ids that name commits (`git cat-file`) are pinned,
 * never more than MAX_PINNED a task (past it the later ones are left to the reflogs, as before,
 * and the task gets a warning), and of a reflog at most READ_BYTES are read at a time.
 */

/** Pinned commits per task (and attempt): one holding commit (holdingCommit's HOLD_PARENTS). */
export const MAX_PINNED = 1_000;

/** Ids looked at per task (pinned, or found not to be commits): forged lines stop counting past it. */
const MAX_SEEN = 20_000;

/** Of a reflog, at most this much (its end) is read at a time: a reflog line is about 150 bytes. */
const READ_BYTES = 256 * 1024;

/** The shared tick the agents' status files are polled on (agents/status-file.ts). */
const POLL_MS = 500;

const MESSAGE = 'parallel-executor: commits pinned while the agent ran';

/** When a pin left by an earlier attempt is looked for, if no commit asked sooner. */
const EXISTING_AFTER_MS = 200;

/** `refs/parallel-executor/<execution>/<task>/pinned`. */
export function pinRef(executionId: string, taskId: string): string {
  return `${taskBackupPrefix(executionId, taskId)}/pinned`;
}

/** What a pin ref holds: its own commit, and the pinned commits (its parents). */
export interface Pin {
  sha: string;
  commits: string[];
}

/** The pin at `ref`; null when there is none. */
export async function readPin(
  repoRoot: string,
  ref: string,
  env: Record<string, string>,
): Promise<Pin | null> {
  const { stdout } = await git(
    repoRoot,
    ['for-each-ref', '--format=%(objectname) %(parent)', ref],
    { env },
  );
  const [sha, ...commits] = stdout.trim().split(/\s+/).filter(Boolean);
  return sha === undefined ? null : { sha, commits };
}

/** Deletes the pin, unless it moved since it was read (something pinned meanwhile). */
export async function dropPin(
  repoRoot: string,
  ref: string,
  pin: Pin,
  env: Record<string, string>,
): Promise<void> {
  await git(repoRoot, ['update-ref', '-d', ref, pin.sha], { env, allowExitCodes: [1, 128] });
}

export interface PinInput {
  repoRoot: string;
  /** The worktree's admin folder (`<common dir>/worktrees/<name>`), as it was before the agent ran. */
  admin: string;
  branch: string;
  ref: string;
  env: Record<string, string>;
  identity: GitIdentity;
  /** Never worth pinning (the start commit). */
  skip: readonly string[];
  /** Told once when the task made more commits than `max`. */
  onFull: (message: string) => void;
  /** The most commits pinned (default MAX_PINNED). */
  max?: number;
  /** Told of the first failure to pin (the next looks try again, and say nothing more). */
  onError: (error: unknown) => void;
}

export interface Pinner {
  /**
   * One last look, then no more: resolves once what was seen is pinned (or could not be), with
   * whether the pin ref may exist (false: there was none and nothing was pinned, so collection
   * need not read it).
   */
  stop(): Promise<boolean>;
}

interface Followed {
  path: string;
  /** `ino:size:mtime` at the last look; null when absent. */
  key: string | null;
  ino: number;
  /** Where the next unread line starts. */
  offset: number;
}

/**
 * Starts pinning what the agent commits from now on (the reflogs' present content is left: it is
 * the worktree's making, or an earlier attempt's, kept before this one started).
 */
export async function startPinning(input: PinInput): Promise<Pinner> {
  const common = resolve(input.admin, '..', '..');
  const files: Followed[] = [
    join(input.admin, 'logs', 'HEAD'),
    join(common, 'logs', 'refs', 'heads', ...input.branch.split('/')),
  ].map((path) => {
    // Read from its present end.
    const { key, ino, size } = statKey(path);
    return { path, key, ino, offset: size };
  });
  const max = input.max ?? MAX_PINNED;
  // A pin an earlier attempt or a killed run left, taken in before the first pin is written: read
  // then, or EXISTING_AFTER_MS after the start, while the agent works (not as it starts: neither
  // this agent's start nor the others' started beside it waits for a git process of this).
  let reading: Promise<Pin | null> | null = null;
  const existing = () => {
    reading ??= readPin(input.repoRoot, input.ref, input.env);
    return reading;
  };
  const early = setTimeout(() => existing().catch(() => undefined), EXISTING_AFTER_MS);
  early.unref();
  let pinned: string[] = [];
  let readExisting = false;
  const seen = new Set<string>(input.skip);
  let waiting: string[] = [];
  let full = false;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  // Set by the first failure to pin, and never cleared: from then on, each look checks again that
  // every pinned commit still exists (one cat-file).
  let failed = false;

  const pinNew = async (): Promise<void> => {
    if (!readExisting) {
      pinned = (await existing())?.commits ?? [];
      for (const sha of pinned) seen.add(sha);
      readExisting = true;
    }
    const found = files.flatMap((file) => idsIn(readNew(file)));
    const fresh: string[] = [];
    for (const id of found) {
      if (seen.has(id) || seen.size >= MAX_SEEN) continue;
      seen.add(id);
      fresh.push(id);
    }
    const candidates = [...waiting, ...fresh];
    // Full, and said so: nothing more is pinned, so nothing more is asked.
    if (candidates.length === 0 || (full && pinned.length >= max)) return;
    waiting = [];
    // After a failure: a pinned commit may be gone (the agent deleted the pin, then pruned).
    if (failed && pinned.length > 0) pinned = await onlyCommits(input, pinned);
    const commits = await onlyCommits(input, candidates);
    const room = max - pinned.length;
    if (commits.length > room && !full) {
      full = true;
      input.onFull(
        `the agent made more than ${max} commits: those after the first ${max} were not pinned while it ran, and are kept at collection only if the reflogs still name them (a git reflog expire by an agent takes them out of reach)`,
      );
    }
    const adding = commits.slice(0, Math.max(0, room));
    if (adding.length === 0) return;
    const all = [...pinned, ...adding];
    try {
      const made = await holdingCommit(input.repoRoot, all, MESSAGE, input.identity, input.env);
      await git(input.repoRoot, ['update-ref', '-m', MESSAGE, input.ref, made], { env: input.env });
      pinned = all;
    } catch (error) {
      // A gc holding the refs' lock, or a commit pruned since cat-file saw it: looked at again
      // at the next tick, each commit checked again.
      waiting = adding;
      throw error;
    }
  };

  const look = (): Promise<void> => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await pinNew();
        } catch (error) {
          if (!failed) input.onError(error);
          failed = true;
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const stopPolling = ticker(POLL_MS).every(() => {
    if (waiting.length > 0 || files.some(changed)) void look();
  });
  const watchers = watchReflogs(
    files.map((file) => file.path),
    () => void look(),
  );

  return {
    async stop() {
      stopPolling();
      for (const watcher of watchers) watcher.close();
      await running;
      stopped = true;
      await look();
      clearTimeout(early);
      const had = await existing().catch(() => undefined);
      return had !== null || pinned.length > 0 || failed;
    },
  };
}

/**
 * Each reflog's folder watched for it (the folder, not the file: `reflog expire` renames a new file
 * over it). The branch's is shared by the execution's tasks, whose watches each hear the others'
 * commits and leave them.
 */
function watchReflogs(paths: readonly string[], onChange: () => void): FSWatcher[] {
  const watchers: FSWatcher[] = [];
  for (const path of paths) {
    try {
      const watcher = watch(dirname(path), { persistent: false }, (_, name) => {
        if (name === basename(path)) onChange();
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch {
      // No such folder (no reflog yet), or no inotify watch left: the tick still looks.
    }
  }
  return watchers;
}

function statKey(path: string): { key: string | null; ino: number; size: number } {
  const info = statSync(path, { throwIfNoEntry: false });
  return info === undefined
    ? { key: null, ino: -1, size: 0 }
    : { key: `${info.ino}:${info.size}:${info.mtimeMs}`, ino: info.ino, size: info.size };
}

function changed(file: Followed): boolean {
  return statKey(file.path).key !== file.key;
}

/**
 * The complete lines written since the last read (all of them when the file was replaced or
 * shrank: an expire rewrites it), at most READ_BYTES of them. Opened without blocking and read
 * only when it is a regular file: an agent can put a FIFO or a device there.
 */
function readNew(file: Followed): string {
  const now = statKey(file.path);
  if (now.key === file.key) return '';
  file.key = now.key;
  const from = now.ino === file.ino && now.size >= file.offset ? file.offset : 0;
  file.ino = now.ino;
  file.offset = from;
  if (now.key === null) return '';
  let fd: number;
  try {
    fd = openSync(file.path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return '';
    const start = Math.max(from, stats.size - READ_BYTES);
    const buffer = Buffer.alloc(stats.size - start);
    let filled = 0;
    while (filled < buffer.length) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, start + filled);
      if (read === 0) break;
      filled += read;
    }
    // Skipped ahead: the first line is a part of one.
    const first = start > from ? buffer.indexOf(10) + 1 : 0;
    const last = buffer.lastIndexOf(10, filled - 1);
    if (last < first) {
      // No whole line: one still being written, or one longer than READ_BYTES (not git's).
      if (start > from) file.offset = stats.size;
      return '';
    }
    file.offset = start + last + 1;
    return buffer.toString('latin1', first, last + 1);
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

const LINE = /^[0-9a-f]{40}(?:[0-9a-f]{24})? ([0-9a-f]{40}(?:[0-9a-f]{24})?) /gm;

/**
 * The id each reflog line (`<old> <new> <who> <when>\t<message>`) moved to, the zero id (a
 * deletion) left out. Every commit made since the start is one line's new id; an old id is the
 * line before's new one, or what HEAD was when the pinning started.
 */
function idsIn(text: string): string[] {
  const ids: string[] = [];
  for (const [, now] of text.matchAll(LINE)) if (!/^0+$/.test(now!)) ids.push(now!);
  return ids;
}

/** Of `ids`, those that name commits (an agent can write anything in a reflog). */
async function onlyCommits(input: PinInput, ids: readonly string[]): Promise<string[]> {
  const { stdout } = await git(
    input.repoRoot,
    ['cat-file', '--batch-check=%(objectname) %(objecttype)'],
    { env: input.env, input: `${ids.join('\n')}\n` },
  );
  const commits = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [id, type] = line.split(' ');
    if (type === 'commit' && id !== undefined) commits.add(id);
  }
  return [...commits];
}
