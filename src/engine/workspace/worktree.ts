import { lstat, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '../path-exists.js';
import { git } from './git-exec.js';
import { identityArgs, type GitIdentity } from './identity.js';
import { createMutex, type Mutex } from './mutex.js';
import { namedBack, pruneWorktreesIn } from './worktree-admin.js';

/**
 * Create a worktree on a new branch at `startSha`. Only creating the branch (a ref write) runs
 * alone under `lock`; registering the worktree (`git worktree add`, which makes its own admin
 * folder under .git/worktrees with a unique name) and the checkout — the slow part — run in
 * parallel with the other tasks', kept apart only from exclusive operations such as a prune.
 */
export async function addWorktree(
  repoRoot: string,
  path: string,
  branch: string,
  startSha: string,
  lock: Mutex = createMutex(),
): Promise<void> {
  await createBranch(repoRoot, branch, startSha, lock);
  await addWorktreeForBranch(repoRoot, path, branch, lock);
}

interface BranchBatch {
  entries: Array<{ branch: string; sha: string; error: unknown }>;
  done: Promise<void>;
}

/** Per lock (one per repository), the branches waiting for it: made together when it is free. */
const BRANCH_BATCH_MS = 5;

const waitingBranches = new WeakMap<Mutex, BranchBatch>();

/**
 * Make `refs/heads/<branch>` at `sha`, refusing to move one that exists (BranchExistsError).
 * Ref writes take the repository lock one at a time, so tasks that start together would each wait
 * for the others' `git update-ref`; instead the branches asked for while the lock is busy are made
 * by one `git update-ref --stdin` transaction once it is free.
 */
export async function createBranch(
  repoRoot: string,
  branch: string,
  sha: string,
  lock: Mutex,
): Promise<void> {
  let batch = waitingBranches.get(lock);
  if (batch === undefined) {
    const entries: BranchBatch['entries'] = [];
    // The lock is asked for a few milliseconds later: tasks that start together get here within
    // that (each made its folders first), and their branches are made by one process, not the
    // first on its own and the rest after it.
    const done = new Promise<void>((resolve) => setTimeout(resolve, BRANCH_BATCH_MS)).then(() =>
      lock.run(async () => {
        waitingBranches.delete(lock);
        await createBranches(repoRoot, entries);
      }),
    );
    batch = { entries, done };
    waitingBranches.set(lock, batch);
  }
  const entry = { branch, sha, error: null as unknown };
  batch.entries.push(entry);
  await batch.done;
  if (entry.error !== null) throw entry.error;
}

async function createBranches(repoRoot: string, entries: BranchBatch['entries']): Promise<void> {
  if (entries.length > 1) {
    // All or nothing; branch names hold no spaces or newlines (git refuses them).
    const input = entries.map((e) => `create refs/heads/${e.branch} ${e.sha}\n`).join('');
    const done = await retryOnLock(() => git(repoRoot, ['update-ref', '--stdin'], { input })).then(
      () => true,
      () => false,
    );
    if (done) return;
  }
  // One (or the transaction failed: one of them exists): each on its own, each its own answer.
  for (const entry of entries) {
    // The empty old value: fails rather than moving a branch that already exists.
    await retryOnLock(() =>
      git(repoRoot, ['update-ref', `refs/heads/${entry.branch}`, entry.sha, '']),
    ).catch((error: unknown) => {
      entry.error = ALREADY_EXISTS.test(String(error))
        ? new BranchExistsError(entry.branch)
        : error;
    });
  }
}

/** addWorktree found the branch there already (left untouched): check it out instead. */
export class BranchExistsError extends Error {
  constructor(branch: string) {
    super(`the branch ${branch} exists already`);
  }
}

/** What `git update-ref <ref> <new> ''` says when the ref exists: never worth a retry. */
const ALREADY_EXISTS = /cannot lock ref '[^']*': reference already exists/;

/**
 * Check out an existing branch in a new worktree (resume: the branch outlived its worktree).
 * Registering and the checkout run in parallel with other tasks', as in addWorktree.
 */
export async function addWorktreeForBranch(
  repoRoot: string,
  path: string,
  branch: string,
  lock: Mutex = createMutex(),
): Promise<void> {
  await lock.shared(() =>
    retryOnLock(() =>
      git(repoRoot, ['worktree', 'add', '--quiet', '--no-checkout', '--', path, branch]),
    ),
  );
  await lock.checkout(() => retryOnLock(() => git(path, ['reset', '--quiet', '--hard'])));
}

/** Tries of an operation that met another git process's lock file or half-made worktree. */
const TRANSIENT_TRIES = 7;

/**
 * Git does not wait for another git process: it fails at once on a lock file (`index.lock`, a
 * ref's `.lock`), and on another worktree's admin folder that a parallel `git worktree add` has
 * made but not yet filled (`failed to read .git/worktrees/<name>/commondir: Success`: the file is
 * there, still empty) or that a parallel `git worktree remove` (or prune) is deleting (`Invalid
 * path '.git/worktrees/<name>'`, `failed to read '.git/worktrees/<name>/locked'`: listed, gone when
 * read). All last milliseconds, so the operation is tried again a few times, a little later each
 * time. The git commands that read every worktree's admin folder meet the second kind (git 2.39,
 * measured: `worktree add/move/remove/list`, `checkout` of a branch or `--detach`, `branch -D/-f`;
 * newer git's `checkout -B` too); ref updates, commits, merges and resets do not.
 * `scripts/worktree-race.sh` measures which, with the git on PATH.
 */
export async function retryOnLock<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= TRANSIENT_TRIES || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt));
    }
  }
}

function isTransient(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  if (ALREADY_EXISTS.test(text)) return false;
  return (
    /\.lock'?: File exists|Unable to create '[^']*\.lock'|cannot lock ref|could not lock/i.test(
      text,
    ) ||
    /failed to read '?[^ ']*worktrees\/[^ ']*\/(commondir|gitdir|HEAD|locked)/.test(text) ||
    /Invalid path '[^']*worktrees\/[^'/]+': No such file or directory/.test(text)
  );
}

/**
 * Whether `path` is the top of a git worktree (a linked one: that git knows at this very folder).
 * A folder that is not (a worktree half made, or removed by hand) must never be given to git as
 * one: inside the repository, git would act on the user's own checkout instead; and one whose
 * `.git` file an agent pointed at another worktree's admin folder would have git act on that one.
 */
export async function isWorktreeRoot(path: string): Promise<boolean> {
  if (!(await pathExists(path))) return false;
  const dotGit = await lstat(join(path, '.git')).catch(() => null);
  if (dotGit === null || (!dotGit.isDirectory() && (await namedBack(path)) === null)) return false;
  const top = await git(path, ['rev-parse', '--show-toplevel'], { allowExitCodes: [128] });
  if (top.exitCode !== 0) return false;
  return (await realpath(top.stdout.trim())) === (await realpath(path));
}

/**
 * A repository with submodules has tests that need them: check them out in a task's worktree,
 * recursively, the way a fresh clone would. Null when done (or there are none), else what went
 * wrong. `env` is the user's (credentials, protocol settings); git never prompts for a password.
 */
export async function initSubmodules(
  worktree: string,
  env: Record<string, string>,
  options: { justCheckedOut?: boolean } = {},
): Promise<string | null> {
  // A worktree just checked out has .gitmodules on disk exactly when HEAD has it: no git asked.
  const onDisk = await pathExists(join(worktree, '.gitmodules'));
  if (!onDisk) {
    if (options.justCheckedOut === true) return null;
    const declared = await git(worktree, ['cat-file', '-e', 'HEAD:.gitmodules'], {
      allowExitCodes: [1, 128],
    });
    if (declared.exitCode !== 0) return null;
  }
  const result = await git(worktree, ['submodule', 'update', '--init', '--recursive'], {
    env: { ...env, GIT_TERMINAL_PROMPT: '0' },
    allowExitCodes: [1, 128],
  });
  if (result.exitCode === 0) return null;
  const lines = (result.stderr || result.stdout).trim().split('\n').filter(Boolean);
  return lines.slice(-3).join(' / ') || `git submodule update exited with ${result.exitCode}`;
}

export interface DependencyBranch {
  taskId: string;
  branch: string;
}

export interface MergeConflict {
  /** The dependency whose merge conflicted. */
  taskId: string;
  files: string[];
}

/**
 * Bring the dependencies' work into a fresh worktree. A single dependency fast-forwards; several
 * make merge commits. A conflict is aborted (the worktree is left at its last clean state) and
 * reported with the files, because auto-resolving it would hide it.
 */
export async function mergeDependencies(
  worktree: string,
  dependencies: readonly DependencyBranch[],
  identity: GitIdentity,
): Promise<MergeConflict | null> {
  for (const dependency of dependencies) {
    const result = await git(
      worktree,
      [
        ...identityArgs(identity),
        'merge',
        '--no-edit',
        '--no-verify',
        '-m',
        `Merge dependency ${dependency.taskId} (${dependency.branch})`,
        // The full ref: a bare name may be read as a tag or another branch.
        `refs/heads/${dependency.branch}`,
      ],
      { allowExitCodes: [1] },
    );
    if (result.exitCode === 0) continue;
    const conflicted = await git(worktree, ['diff', '--name-only', '--diff-filter=U', '-z']);
    await git(worktree, ['merge', '--abort'], { allowExitCodes: [128] });
    return { taskId: dependency.taskId, files: conflicted.stdout.split('\0').filter(Boolean) };
  }
  return null;
}

/**
 * The task branch back at `sha` and checked out, with untracked files removed (ignored ones, like
 * installed dependencies, kept). Checking the branch out, not resetting whatever HEAD is, matters
 * when the last attempt left the worktree on another branch or a detached HEAD.
 */
export async function resetWorktree(worktree: string, branch: string, sha: string): Promise<void> {
  await git(worktree, ['merge', '--abort'], { allowExitCodes: [128] });
  await retryOnLock(() => git(worktree, ['checkout', '--quiet', '--force', '-B', branch, sha]));
  await git(worktree, ['clean', '-fdq']);
}

export async function removeWorktree(repoRoot: string, path: string): Promise<void> {
  await git(repoRoot, ['worktree', 'remove', '--force', '--force', '--', path], {
    allowExitCodes: [128],
  });
  await rm(path, { recursive: true, force: true });
  await pruneWorktreesIn(repoRoot, [path]);
}

export async function deleteBranch(repoRoot: string, branch: string): Promise<void> {
  await git(repoRoot, ['branch', '--quiet', '-D', branch], { allowExitCodes: [1] });
}

export async function branchSha(repoRoot: string, branch: string): Promise<string | null> {
  const result = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], {
    allowExitCodes: [1],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/**
 * An agent may switch branches or detach HEAD in its worktree and commit there; integration merges
 * the task branch, so that work would silently not land. Put the task branch back under HEAD when
 * HEAD only adds to it; otherwise say why (the worktree and the branch are left as they are).
 */
export async function reattachTaskBranch(
  worktree: string,
  branch: string,
  /** What `git rev-parse --symbolic-full-name HEAD` said just before, if the caller asked. */
  seenRef?: string,
): Promise<string | null> {
  if (seenRef === `refs/heads/${branch}`) return null;
  const attached = await git(worktree, ['symbolic-ref', '--quiet', 'HEAD'], {
    allowExitCodes: [1],
  });
  if (attached.exitCode === 0 && attached.stdout.trim() === `refs/heads/${branch}`) return null;
  const tip = await branchSha(worktree, branch);
  if (tip !== null) {
    const contains = await git(worktree, ['merge-base', '--is-ancestor', tip, 'HEAD'], {
      allowExitCodes: [1],
    });
    if (contains.exitCode !== 0) {
      const where = attached.exitCode === 0 ? attached.stdout.trim() : 'a detached HEAD';
      return `the agent left its worktree not on its branch ${branch} but on ${where}, which lacks commits of ${branch}; both are kept in ${worktree}`;
    }
  }
  // Same commit, so the agent's uncommitted changes stay as they are.
  await retryOnLock(() => git(worktree, ['checkout', '--quiet', '-B', branch, 'HEAD']));
  return null;
}
