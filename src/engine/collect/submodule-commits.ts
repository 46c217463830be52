import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists } from '../path-exists.js';
import { git, NO_HOOKS } from '../workspace/git-exec.js';

export interface SubmoduleCommit {
  /** The submodule's path in the task's tree. */
  path: string;
  sha: string;
  /** Where the repository now holds it. */
  ref: string;
}

/**
 * Commits a task's branch points a submodule at (a gitlink moved since the start) that no
 * remote-tracking branch of the worktree's clone of that submodule holds: the agent committed
 * inside the submodule, and that commit exists only in the clone, under the worktree's git
 * folder, which goes with the worktree. Merged as it is, the branch would point the submodule at
 * a commit nobody can fetch. Each is fetched into the repository under `refFor(sha)` (git keeps
 * another project's commits as well as its own). A submodule whose clone is absent or lacks the
 * commit is left alone: nothing there to keep.
 */
export async function keepSubmoduleCommits(input: {
  repoRoot: string;
  worktree: string;
  startSha: string;
  headSha: string;
  env: Record<string, string>;
  refFor: (sha: string) => string;
}): Promise<SubmoduleCommit[]> {
  // No .gitmodules, no submodule clone (an undeclared gitlink is refused before): no git to ask.
  if (input.headSha === input.startSha || !(await pathExists(join(input.worktree, '.gitmodules'))))
    return [];
  // Two commits' trees, read in the repository: no git runs on a worktree whose .git is gone.
  const { stdout } = await git(
    input.repoRoot,
    ['diff-tree', '-r', '-z', '--no-renames', input.startSha, input.headSha, '--'],
    { env: input.env },
  );
  const fields = stdout.split('\0');
  const kept: SubmoduleCommit[] = [];
  // `:<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0` per entry.
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [, newMode, , sha] = fields[i]!.slice(1).split(' ');
    const path = fields[i + 1]!;
    if (newMode !== '160000' || sha === undefined) continue;
    const clone = join(input.worktree, path);
    // No clone of its own there: git would look up from it, into the worktree and above.
    if ((await lstat(join(clone, '.git')).catch(() => null)) === null) continue;
    const held = await git(
      clone,
      ['for-each-ref', '--count=1', '--format=%(refname)', '--contains', sha, 'refs/remotes'],
      { env: input.env, allowExitCodes: [128, 129] },
    ).catch(() => null);
    // No clone there, or it lacks the commit (128); or a remote-tracking branch has it.
    if (held === null || held.exitCode !== 0 || held.stdout.trim() !== '') continue;
    const ref = input.refFor(sha);
    const fetched = await git(
      input.repoRoot,
      [
        ...NO_HOOKS,
        '-c',
        'protocol.file.allow=always',
        'fetch',
        '--quiet',
        '--no-tags',
        '--no-write-fetch-head',
        '--no-recurse-submodules',
        clone,
        `${sha}:${ref}`,
      ],
      { env: input.env, allowExitCodes: [1, 128] },
    );
    if (fetched.exitCode === 0) kept.push({ path, sha, ref });
  }
  return kept;
}

/** What a task's warnings say of the submodule commits kept for it. */
export function submoduleCommitsWarning(kept: readonly SubmoduleCommit[]): string {
  const each = kept.map(({ path, sha, ref }) => `${path} at ${sha.slice(0, 12)} (kept at ${ref})`);
  return `the task's branch points submodules at commits the agent made inside them and pushed nowhere (no remote-tracking branch of the submodule holds them): ${each.join(', ')}. They existed only in the worktree's clone of the submodule, which goes with the worktree; before merging, push each to its submodule's repository (git push <the submodule's url> <kept ref>:refs/heads/<branch>), or the merged branch points at commits no one else can fetch`;
}
