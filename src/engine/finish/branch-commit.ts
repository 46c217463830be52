import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git } from '../workspace/git-exec.js';
import { identityArgs, type GitIdentity } from '../workspace/identity.js';

export interface BranchCommitOptions {
  repoRoot: string;
  branch: string;
  /** A temporary worktree of the branch is made under this folder, and removed. */
  workdir: string;
  /**
   * Repository-relative paths (with `/`) and their new content, made from the content the branch
   * has (null: no such file). A null result leaves the file as it is.
   */
  files: ReadonlyArray<{ path: string; content: (current: string | null) => string | null }>;
  message: string;
  identity: GitIdentity;
  env: Record<string, string>;
}

export interface BranchCommitResult {
  /** The branch's head afterwards (unchanged when nothing differed). */
  sha: string;
  /** The paths written. */
  written: string[];
}

/**
 * Commit files on a branch without touching the user's checkout: in a temporary worktree of the
 * branch, removed afterwards. Hooks are off (a commit-msg hook must not reject a machine-made
 * commit) and so is signing.
 */
export async function commitOnBranch(options: BranchCommitOptions): Promise<BranchCommitResult> {
  const { repoRoot, env } = options;
  await mkdir(options.workdir, { recursive: true });
  const worktree = await mkdtemp(join(options.workdir, 'commit-'));
  await git(repoRoot, ['worktree', 'add', '-q', worktree, options.branch], { env });
  try {
    const written: string[] = [];
    for (const file of options.files) {
      const target = join(worktree, file.path);
      const current = await readFile(target, 'utf8').catch(() => null);
      const content = file.content(current);
      if (content === null || content === current) continue;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
      written.push(file.path);
    }
    const sha = async () => (await git(worktree, ['rev-parse', 'HEAD'], { env })).stdout.trim();
    if (written.length === 0) return { sha: await sha(), written };
    const pathspecs = written.map((path) => `:(top,literal)${path}`);
    // --force: a report folder the repository ignores is still committed, since it was asked for.
    await git(worktree, ['add', '--force', '--pathspec-from-file=-', '--pathspec-file-nul'], {
      env,
      input: `${pathspecs.join('\0')}\0`,
    });
    const staged = await git(worktree, ['diff', '--cached', '--quiet'], {
      env,
      allowExitCodes: [1],
    });
    if (staged.exitCode === 1) {
      await git(
        worktree,
        [
          ...identityArgs(options.identity),
          '-c',
          'core.hooksPath=/dev/null',
          'commit',
          '-q',
          '--no-verify',
          '-m',
          options.message,
        ],
        { env },
      );
    }
    return { sha: await sha(), written };
  } finally {
    await removeWorktree(repoRoot, worktree, env);
  }
}

async function removeWorktree(
  repoRoot: string,
  worktree: string,
  env: Record<string, string>,
): Promise<void> {
  const removed = await git(repoRoot, ['worktree', 'remove', '--force', worktree], {
    env,
    allowExitCodes: [128],
  });
  if (removed.exitCode === 0) return;
  await rm(worktree, { recursive: true, force: true });
  await git(repoRoot, ['worktree', 'prune'], { env });
}
