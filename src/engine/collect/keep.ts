import type { KeptRef } from '../state/schema.js';
import { attemptRef, isAncestor, keepAttempt, nextAttemptNumber } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';

export interface KeepUncollectedInput {
  repoRoot: string;
  executionId: string;
  taskId: string;
  worktree: string;
  branch: string;
  startSha: string;
  env: Record<string, string>;
  identity: GitIdentity;
  why: string;
  /** The tool's files in the worktree (context, replicated configuration): never kept. */
  exclude?: readonly string[];
}

/**
 * Work that collection refused (a half-done merge, a branch reset below its start, a nested
 * repository…) is not committed onto the task branch: it is kept under the next attempt ref —
 * HEAD with the uncommitted changes on top — and so are commits the agent made on top of the start
 * and then dropped from its branch (`git reset --hard HEAD~2`), found in the reflogs. Returns the
 * refs written (empty when nothing could be kept; the worktree stays in any case).
 */
export async function keepUncollected(input: KeepUncollectedInput): Promise<KeptRef[]> {
  const number = await nextAttemptNumber(
    input.repoRoot,
    input.executionId,
    input.taskId,
    input.env,
  );
  const ref = attemptRef(input.executionId, input.taskId, number);
  const kept = await keepAttempt({
    repoRoot: input.repoRoot,
    worktree: input.worktree,
    branch: input.branch,
    ref,
    env: input.env,
    identity: input.identity,
    why: input.why,
    exclude: input.exclude,
  });
  if (kept === null) return [];
  const refs: KeptRef[] = [{ ref: kept.ref, sha: kept.sha, why: input.why }];
  if (kept.branchRef !== null) {
    const sha = (await git(input.repoRoot, ['rev-parse', kept.branchRef], { env: input.env }))
      .stdout;
    refs.push({ ref: kept.branchRef, sha: sha.trim(), why: input.why });
  }
  const dropped = await droppedCommits(
    input,
    refs.map((r) => r.sha),
  );
  for (const [i, sha] of dropped.entries()) {
    const droppedRef = `${ref}-dropped-${i + 1}`;
    await git(input.repoRoot, ['update-ref', '-m', input.why, droppedRef, sha], { env: input.env });
    refs.push({ ref: droppedRef, sha, why: `${input.why} (commits dropped from the branch)` });
  }
  return refs;
}

/**
 * Tips of commits that were on the task branch or the worktree's HEAD after the start, and that
 * none of `kept` holds: what a reset or a rebase below the start left only in the reflogs.
 */
async function droppedCommits(input: KeepUncollectedInput, kept: string[]): Promise<string[]> {
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
  input: KeepUncollectedInput,
  tips: readonly string[],
  sha: string,
): Promise<boolean> {
  for (const tip of tips) {
    if (await isAncestor(input.repoRoot, sha, tip, input.env)) return true;
  }
  return false;
}
