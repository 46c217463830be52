import { resetTo, type RepoGit } from './repo.js';

export type MergeOutcome =
  | { kind: 'merged'; head: string }
  | { kind: 'conflict'; files: string[] }
  | { kind: 'failed'; message: string };

export function mergeMessage(taskId: string, agent: string, branch: string): string {
  return `Integrate task ${taskId} (${agent}): ${branch}`;
}

/**
 * Merge one task branch (by commit, so the whole run sees the same tip) with `--no-ff` and a
 * message naming task and agent. A conflict is never resolved: the conflicting files are read,
 * the merge is aborted and the worktree is put back exactly where it was, and checked.
 */
export async function mergeCandidate(
  repo: RepoGit,
  sha: string,
  message: string,
): Promise<MergeOutcome> {
  const before = await repo.text(['rev-parse', 'HEAD']);
  const merge = await repo.run(['merge', '--no-ff', '--no-edit', '-m', message, sha], [1, 128]);
  if (merge.exitCode === 0) {
    // "Already up to date" (the branch is inside what is merged) makes no commit; that is fine.
    return { kind: 'merged', head: await repo.text(['rev-parse', 'HEAD']) };
  }
  const unmerged = await repo.run(['diff', '--name-only', '--diff-filter=U']);
  const files = [...new Set(unmerged.stdout.split('\n').filter(Boolean))];
  await repo.run(['merge', '--abort'], [128]); // 128: there was no merge to abort (refused early)
  await resetTo(repo, before);
  if (files.length > 0) return { kind: 'conflict', files };
  const reason = (merge.stderr || merge.stdout).trim().split('\n').slice(-2).join(' ');
  return { kind: 'failed', message: reason };
}
