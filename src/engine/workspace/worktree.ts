import { realpath, rm } from 'node:fs/promises';
import { pathExists } from '../path-exists.js';
import { git } from './git-exec.js';
import { identityArgs, type GitIdentity } from './identity.js';
import { createMutex, type Mutex } from './mutex.js';

/**
 * Create a worktree on a new branch at `startSha`. Registering a worktree is not safe to run
 * concurrently (git reads the other worktrees' half-written admin files), so only that quick step
 * runs under `lock`; the checkout itself — the slow part — runs in parallel with the others.
 */
export async function addWorktree(
  repoRoot: string,
  path: string,
  branch: string,
  startSha: string,
  lock: Mutex = createMutex(),
): Promise<void> {
  await lock.run(() =>
    git(repoRoot, [
      'worktree',
      'add',
      '--quiet',
      '--no-checkout',
      '-b',
      branch,
      '--',
      path,
      startSha,
    ]),
  );
  await git(path, ['reset', '--quiet', '--hard']);
}

/**
 * Check out an existing branch in a new worktree (resume: the branch outlived its worktree).
 * Registering runs under `lock`, the checkout outside it, as in addWorktree.
 */
export async function addWorktreeForBranch(
  repoRoot: string,
  path: string,
  branch: string,
  lock: Mutex = createMutex(),
): Promise<void> {
  await lock.run(() =>
    git(repoRoot, ['worktree', 'add', '--quiet', '--no-checkout', '--', path, branch]),
  );
  await git(path, ['reset', '--quiet', '--hard']);
}

/**
 * Whether `path` is the top of a git worktree. A folder that is not (a worktree half made, or
 * removed by hand) must never be given to git as one: inside the repository, git would act on the
 * user's own checkout instead.
 */
export async function isWorktreeRoot(path: string): Promise<boolean> {
  if (!(await pathExists(path))) return false;
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
): Promise<string | null> {
  const declared = await git(worktree, ['cat-file', '-e', 'HEAD:.gitmodules'], {
    allowExitCodes: [1, 128],
  });
  if (declared.exitCode !== 0) return null;
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
  await git(worktree, ['checkout', '--quiet', '--force', '-B', branch, sha]);
  await git(worktree, ['clean', '-fdq']);
}

export async function removeWorktree(repoRoot: string, path: string): Promise<void> {
  await git(repoRoot, ['worktree', 'remove', '--force', '--force', '--', path], {
    allowExitCodes: [128],
  });
  await rm(path, { recursive: true, force: true });
  await git(repoRoot, ['worktree', 'prune']);
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
export async function reattachTaskBranch(worktree: string, branch: string): Promise<string | null> {
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
  await git(worktree, ['checkout', '--quiet', '-B', branch, 'HEAD']);
  return null;
}
