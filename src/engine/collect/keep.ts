import type { KeptRef } from '../state/schema.js';
import { isAncestor } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';

export interface DroppedCommitsInput {
  repoRoot: string;
  /** Null when the worktree is gone: the branch's reflog alone is read. */
  worktree: string | null;
  /**
   * For a worktree whose `.git` file is gone (`strandedAdmin`), its admin folder: HEAD's reflog is
   * read there, with no worktree (`worktree` is null then).
   */
  stranded?: string | null;
  branch: string;
  startSha: string;
  env: Record<string, string>;
  /** The ref the `index`-th tip found is kept under (`besideAttempt`: next to an attempt ref). */
  refFor: (sha: string, index: number) => string;
  /** Commits already kept (the attempt and its branch ref, the new head): what they hold needs no ref. */
  kept: readonly string[];
  /**
   * Commits pinned while the agent ran (run/pin.ts): read as if the reflogs still named them, for
   * another agent's `reflog expire` may have emptied those.
   */
  pinned?: readonly string[];
  /** The refs' reflog message, and what each `kept_refs` entry says (`note` after it, in brackets). */
  why: string;
  note?: string;
}

/** `<ref>-dropped-<n>`, beside the attempt ref the task's state was just kept under. */
export function besideAttempt(ref: string): DroppedCommitsInput['refFor'] {
  return (_sha, index) => `${ref}-dropped-${index + 1}`;
}

/**
 * Keeps the commits the agent made on top of the start and then left off its branch (a reset,
 * an amend, commits on a detached HEAD or another branch it switched away from), found in the
 * reflogs: one ref per tip that `kept` does not hold. Returns the refs written.
 */
export async function keepDroppedCommits(input: DroppedCommitsInput): Promise<KeptRef[]> {
  const refs: KeptRef[] = [];
  const dropped = await droppedCommits(input, input.kept);
  const why = input.note === undefined ? input.why : `${input.why} (${input.note})`;
  for (const [i, sha] of dropped.entries()) {
    const ref = input.refFor(sha, i);
    await git(input.repoRoot, ['update-ref', '-m', input.why, ref, sha], { env: input.env });
    refs.push({ ref, sha, why });
  }
  return refs;
}

/**
 * Tips of commits that were on the task branch or the worktree's HEAD after the start (built on
 * it, or made after a reset below it), and that none of `kept` holds: what a reset or a rebase
 * below the start left only in the reflogs.
 */
async function droppedCommits(
  input: DroppedCommitsInput,
  kept: readonly string[],
): Promise<string[]> {
  const seen = new Set<string>();
  const stranded = input.stranded ?? null;
  for (const [cwd, ref, env] of [
    [input.repoRoot, `refs/heads/${input.branch}`, input.env],
    ...(input.worktree === null ? [] : [[input.worktree, 'HEAD', input.env] as const]),
    ...(stranded === null
      ? []
      : [[stranded, 'HEAD', { ...input.env, GIT_DIR: stranded }] as const]),
  ] as const) {
    const log = await git(cwd, ['reflog', 'show', '--format=%H', ref], {
      env,
      allowExitCodes: [128],
    });
    for (const sha of log.stdout.split('\n').filter(Boolean)) seen.add(sha);
  }
  for (const sha of input.pinned ?? []) seen.add(sha);
  const candidates: string[] = [];
  for (const sha of seen) {
    if (sha === input.startSha) continue;
    if (
      !(await isAncestor(input.repoRoot, input.startSha, sha, input.env)) &&
      !(await madeBelowStart(input, sha))
    )
      continue;
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

/**
 * A commit the agent made after resetting below the start (and then amended or reset away): not
 * in the history the task started from, and in no branch or tag (a commit of one it checked out
 * is that branch's, not lost).
 */
async function madeBelowStart(input: DroppedCommitsInput, sha: string): Promise<boolean> {
  if (await isAncestor(input.repoRoot, sha, input.startSha, input.env)) return false;
  const holders = await git(
    input.repoRoot,
    [
      'for-each-ref',
      '--count=1',
      '--format=%(refname)',
      '--contains',
      sha,
      'refs/heads',
      'refs/tags',
    ],
    { env: input.env },
  );
  return holders.stdout.trim() === '';
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
