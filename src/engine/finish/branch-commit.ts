/**
 * One commit on top of a branch that adds or replaces a few files (the report, the plan with its
 * statuses), for every shell. Made with git's plumbing on a private index: nothing is checked out,
 * so no hook, filter or checkout of the user's (or an agent's) runs, and neither the user's
 * checkout nor its index is touched. No signing: a bookkeeping commit must not stop to ask for a
 * passphrase.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParallelExecutorError } from '../errors.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';

export interface BranchCommitOptions {
  repoRoot: string;
  /** Local branch to move (it must exist); the commit's parent is its head. */
  branch: string;
  /**
   * Repository-relative paths (with `/`) and their new content, made from the content the branch
   * has (null: no such file). A null result leaves the file as it is.
   */
  files: ReadonlyArray<{ path: string; content: (current: string | null) => string | null }>;
  message: string;
  identity: GitIdentity;
  env: Record<string, string | undefined>;
}

export interface BranchCommitResult {
  /** The branch's head afterwards (unchanged when nothing differed). */
  sha: string;
  /** The paths written. */
  written: string[];
}

export async function commitOnBranch(options: BranchCommitOptions): Promise<BranchCommitResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'pe-index-'));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, {
    GIT_INDEX_FILE: join(scratch, 'index'),
    GIT_AUTHOR_NAME: options.identity.name,
    GIT_AUTHOR_EMAIL: options.identity.email,
    GIT_COMMITTER_NAME: options.identity.name,
    GIT_COMMITTER_EMAIL: options.identity.email,
  });
  const run = async (args: string[], stdin?: string) =>
    (
      await git(options.repoRoot, args, { env, ...(stdin === undefined ? {} : { input: stdin }) })
    ).stdout.trim();
  try {
    const ref = `refs/heads/${options.branch}`;
    await refuseCheckedOut(options.repoRoot, ref, env);
    const parent = await run(['rev-parse', '--verify', `${ref}^{commit}`]);
    await run(['read-tree', parent]);
    const written: string[] = [];
    for (const file of options.files) {
      const entry = await treeEntry(options.repoRoot, parent, file.path, env);
      const current =
        entry === null
          ? null
          : (await git(options.repoRoot, ['cat-file', 'blob', entry.blob], { env })).stdout;
      const content = file.content(current);
      if (content === null || content === current) continue;
      const blob = await run(['hash-object', '-w', '--stdin'], content);
      const mode = entry?.mode === '100755' ? '100755' : '100644';
      await run(['update-index', '--add', '--cacheinfo', `${mode},${blob},${file.path}`]);
      written.push(file.path);
    }
    const tree = await run(['write-tree']);
    if (tree === (await run(['rev-parse', `${parent}^{tree}`]))) return { sha: parent, written };
    const commit = await run(
      ['commit-tree', '--no-gpg-sign', tree, '-p', parent, '-F', '-'],
      options.message,
    );
    // With the old value: a branch that moved meanwhile is not overwritten.
    await run(['update-ref', ref, commit, parent]);
    return { sha: commit, written };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function treeEntry(
  repoRoot: string,
  commit: string,
  path: string,
  env: Record<string, string>,
): Promise<{ mode: string; blob: string } | null> {
  const listed = await git(repoRoot, ['ls-tree', '-z', commit, '--', `:(top,literal)${path}`], {
    env,
  });
  const match = /^(\d+) blob ([0-9a-f]+)\t/.exec(listed.stdout);
  return match ? { mode: match[1]!, blob: match[2]! } : null;
}

/** Moving a branch that a worktree has checked out would leave its files out of step with it. */
async function refuseCheckedOut(
  repoRoot: string,
  ref: string,
  env: Record<string, string>,
): Promise<void> {
  const list = await git(repoRoot, ['worktree', 'list', '--porcelain', '-z'], { env });
  const worktrees = list.stdout.split('\0\0');
  const holder = worktrees.find((block) => block.split('\0').includes(`branch ${ref}`));
  if (holder === undefined) return;
  const path = holder.split('\0')[0]!.replace(/^worktree /, '');
  throw new ParallelExecutorError(
    `cannot commit the report on ${ref.replace(/^refs\/heads\//, '')}: it is checked out in ${path}`,
    `Switch that worktree to another branch (git -C ${path} switch --detach), then finish the run again.`,
  );
}
