/**
 * One commit on top of a branch that adds or replaces a few files (the plan with its statuses
 * written back, the report), made with git's plumbing on a private index: nothing is checked out,
 * and neither the job's checkout nor its index is touched.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../../engine/workspace/git-exec.js';
import type { GitIdentity } from '../../engine/workspace/identity.js';

export interface FileChange {
  /** Path relative to the repository root, `/`-separated. */
  path: string;
  content: string;
}

export interface CommitFilesInput {
  root: string;
  /** Local branch to move (it must exist); the commit's parent is its head. */
  branch: string;
  files: readonly FileChange[];
  message: string;
  identity: GitIdentity;
  env: Record<string, string | undefined>;
}

/** Returns the new head, or the old one when the files already had that content. */
export async function commitFiles(input: CommitFilesInput): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), 'pe-index-'));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, {
    GIT_INDEX_FILE: join(scratch, 'index'),
    GIT_AUTHOR_NAME: input.identity.name,
    GIT_AUTHOR_EMAIL: input.identity.email,
    GIT_COMMITTER_NAME: input.identity.name,
    GIT_COMMITTER_EMAIL: input.identity.email,
  });
  const run = async (args: string[], stdin?: string) =>
    (
      await git(input.root, args, { env, ...(stdin === undefined ? {} : { input: stdin }) })
    ).stdout.trim();
  try {
    const ref = `refs/heads/${input.branch}`;
    const parent = await run(['rev-parse', '--verify', `${ref}^{commit}`]);
    await run(['read-tree', parent]);
    for (const file of input.files) {
      const blob = await run(['hash-object', '-w', '--stdin'], file.content);
      await run(['update-index', '--add', '--cacheinfo', `100644,${blob},${file.path}`]);
    }
    const tree = await run(['write-tree']);
    if (tree === (await run(['rev-parse', `${parent}^{tree}`]))) return parent;
    const commit = await run(
      ['commit-tree', '--no-gpg-sign', tree, '-p', parent, '-F', '-'],
      input.message,
    );
    await run(['update-ref', ref, commit, parent]);
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
