import type { KeptRef } from '../state/schema.js';
import { isAncestor } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';

export interface DroppedCommitsInput {
  repoRoot: string;
  worktree: string;
  branch: string;
  startSha: string;
  env: Record<string, string>;
  /** The attempt ref the task's state was just kept under; dropped commits go beside it. */
  ref: string;
  /** Commits already kept (the attempt and its branch ref): what they hold needs no ref. */
  kept: readonly string[];
  why: string;
}

/**
 * Work that collection refused (a half-done merge, a branch reset below its start…) is kept under
 * an attempt ref by the caller; this keeps, beside it, the commits the agent made on top of the
 * start and then dropped from its branch (`git reset --hard HEAD~2`), found in the reflogs:
 * `<ref>-dropped-<n>`, one per tip. Returns the refs written.
 */
export async function keepDroppedCommits(input: DroppedCommitsInput): Promise<KeptRef[]> {
  const refs: KeptRef[] = [];
  const dropped = await droppedCommits(input, input.kept);
  for (const [i, sha] of dropped.entries()) {
    const droppedRef = `${input.ref}-dropped-${i + 1}`;
    await git(input.repoRoot, ['update-ref', '-m', input.why, droppedRef, sha], { env: input.env });
    refs.push({ ref: droppedRef, sha, why: `${input.why} (commits dropped from the branch)` });
  }
  return refs;
}

/**
 * Tips of commits that were on the task branch or the worktree's HEAD after the start, and that
 * none of `kept` holds: what a reset or a rebase below the start left only in the reflogs.
 */
export async function droppedCommits(
  input: Pick<DroppedCommitsInput, 'repoRoot' | 'worktree' | 'branch' | 'startSha' | 'env'>,
  kept: readonly string[],
): Promise<string[]> {
  const seen = new Set<string>();
  for (const [cwd, ref] of [
    [input.repoRoot, `refs/heads/${input.branch}`],
    [input.worktree, 'HEAD'],
  ] as const) {
    const log = await git(cwd, ['reflog', 'show', '--format=%H', ref], {
      env: input.env,
      allowExitCodes: [128],
    });
    for (const sha of log.stdout.split('\n').filter(Boolean)) seen.add(sha);
  }
  const candidates: string[] = [];
  for (const sha of seen) {
    if (sha === input.startSha) continue;
    if (!(await isAncestor(input.repoRoot, input.startSha, sha, input.env))) continue;
    if (await anyContains(input, kept, sha)) continue;
    candidates.push(sha);
  }
  if (candidates.length <= 1) return candidates;
  // Only the tips: a commit that another dropped one contains needs no ref of its own.
  const { stdout } = await git(input.repoRoot, ['merge-base', '--independent', ...candidates], {
    env: input.env,
  });
  return stdout.split('\n').filter(Boolean);
}

async function anyContains(
  input: Pick<DroppedCommitsInput, 'repoRoot' | 'env'>,
  tips: readonly string[],
  sha: string,
): Promise<boolean> {
  for (const tip of tips) {
    if (await isAncestor(input.repoRoot, sha, tip, input.env)) return true;
  }
  return false;
}
