import { GitError } from '../errors.js';
import type { RepoGit } from './repo.js';

export interface BranchTip {
  taskId: string;
  sha: string;
}

export interface PredictedConflict {
  a: string;
  b: string;
  files: string[];
}

/**
 * Files that would conflict if `a` and `b` were merged, from `git merge-tree --write-tree`
 * (git ≥ 2.38): nothing is checked out, no worktree is touched. Null when git cannot tell
 * (unrelated histories).
 */
export async function mergeTreeConflicts(
  repo: RepoGit,
  a: string,
  b: string,
): Promise<string[] | null> {
  try {
    const result = await repo.run(
      ['merge-tree', '--write-tree', '--name-only', '--no-messages', a, b],
      [1],
    );
    if (result.exitCode === 0) return [];
    // First line: the tree written with conflict markers; then one conflicted path per line.
    return unique(result.stdout.split('\n').slice(1).filter(Boolean));
  } catch (error) {
    if (error instanceof GitError) return null;
    throw error;
  }
}

/** Every pair of task branches that collide, in candidate order. */
export async function predictConflicts(
  repo: RepoGit,
  tips: readonly BranchTip[],
): Promise<PredictedConflict[]> {
  const found: PredictedConflict[] = [];
  for (let i = 0; i < tips.length; i++) {
    for (let j = i + 1; j < tips.length; j++) {
      const a = tips[i]!;
      const b = tips[j]!;
      const files = await mergeTreeConflicts(repo, a.sha, b.sha);
      if (files !== null && files.length > 0) found.push({ a: a.taskId, b: b.taskId, files });
    }
  }
  return found;
}

/**
 * Which already-merged branches a conflicting candidate collided with: those that conflict with
 * it on one of the files on their own; failing that (a conflict only the combination produces),
 * those that changed one of the conflicting files since the base.
 */
export async function collidedWith(
  repo: RepoGit,
  candidateSha: string,
  files: readonly string[],
  merged: readonly BranchTip[],
  baseSha: string,
): Promise<string[]> {
  const conflicting = new Set(files);
  const pairwise: string[] = [];
  for (const tip of merged) {
    const clash = await mergeTreeConflicts(repo, tip.sha, candidateSha);
    if (clash?.some((file) => conflicting.has(file))) pairwise.push(tip.taskId);
  }
  if (pairwise.length > 0) return pairwise;
  const touching: string[] = [];
  for (const tip of merged) {
    const changed = await repo.run(['diff', '--name-only', '--no-renames', baseSha, tip.sha]);
    if (changed.stdout.split('\n').some((file) => conflicting.has(file))) {
      touching.push(tip.taskId);
    }
  }
  return touching;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
