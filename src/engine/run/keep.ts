import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTEXT_FILE } from '../collect/collect.js';
import { besideAttempt, keepDroppedCommits } from '../collect/keep.js';
import { keepSubmoduleCommits, submoduleCommitsWarning } from '../collect/submodule-commits.js';
import type { KeptRef, TaskRun } from '../state/schema.js';
import {
  attemptRef,
  keepAttempt,
  keptRefsOf,
  nextAttemptNumber,
  taskBackupPrefix,
  type KeptAttempt,
} from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';
import { branchSha, isWorktreeRoot } from '../workspace/worktree.js';
import { strandedAdmin } from '../workspace/worktree-admin.js';
import { dropPin, pinRef, readPin } from './pin.js';

/** Where a task's work is kept, and with what: the same for a retry, resume and a failure. */
export interface KeepPlace {
  repoRoot: string;
  executionId: string;
  /** The whole environment for git. */
  env: Record<string, string>;
  identity: GitIdentity;
  /** The tool's copies in the worktree (replicated configuration, `.env`): never kept under a ref. */
  toolFiles?: readonly string[];
}

/**
 * Keep a task's worktree and branch exactly as they are now under its next
 * `refs/parallel-executor/<execution>/<task>/attempt-<n>` (and `<ref>-branch` when the worktree had
 * left the branch), and the commits the agent dropped from them (keepDropped), recorded in the
 * task's `kept_refs` so that every output names them. Done before anything resets, reuses or
 * replaces the task's work. Null when the task has neither worktree nor branch.
 */
export async function keepTaskState(
  place: KeepPlace,
  run: TaskRun,
  why: string,
): Promise<KeptAttempt | null> {
  const n = await nextAttemptNumber(place.repoRoot, place.executionId, run.task_id, place.env);
  const kept = await keepAttempt({
    repoRoot: place.repoRoot,
    worktree: run.worktree,
    branch: run.branch,
    ref: attemptRef(place.executionId, run.task_id, n),
    env: place.env,
    identity: place.identity,
    why,
    exclude: [CONTEXT_FILE, ...(place.toolFiles ?? [])],
    startSha: run.start_sha,
  });
  if (kept === null) return null;
  (run.kept_refs ??= []).push(...keptRefsOf(kept, why, 'the task branch its worktree had left'));
  await keepDropped(place, run, why, kept);
  // The kept state may point a submodule at a commit only the worktree's clone of it has: the
  // reset for a retry or the worktree's removal that follows would lose it.
  await keepSubmoduleWork(place, run, kept.sha);
  return kept;
}

/**
 * Commits the agent made inside a submodule that `head` (the task's branch, or its kept state)
 * points it at, pushed nowhere: fetched under refs of the task (they would go with the
 * worktree's clone of the submodule), recorded in `kept_refs` and named in a warning, once each.
 */
export async function keepSubmoduleWork(
  place: KeepPlace,
  run: TaskRun,
  head: string,
): Promise<void> {
  if (run.start_sha === null) return;
  const known = new Set((run.kept_refs ?? []).map((entry) => entry.ref));
  const kept = (
    await keepSubmoduleCommits({
      repoRoot: place.repoRoot,
      worktree: run.worktree,
      startSha: run.start_sha,
      headSha: head,
      env: place.env,
      refFor: (sha) =>
        `${taskBackupPrefix(place.executionId, run.task_id)}/submodule-${sha.slice(0, 12)}`,
    })
  ).filter((entry) => !known.has(entry.ref));
  if (kept.length === 0) return;
  const why = 'a submodule commit the agent made, on no remote-tracking branch of the submodule';
  (run.kept_refs ??= []).push(...kept.map(({ ref, sha }) => ({ ref, sha, why })));
  (run.warnings ??= []).push(submoduleCommitsWarning(kept));
}

/**
 * The commits the agent made and then dropped from its branch or HEAD (an amend, a reset, a
 * rewrite with commit-tree), which only the reflogs hold: kept beside `attempt`'s ref, or with no
 * attempt kept (nothing else to keep) as `<task>/left-<sha>`, and recorded in `kept_refs` (`note`
 * after `why` there). A
 * failed or retried attempt must keep them as a refused one does: the branch's reset for the
 * retry, a clean, or reflog expiry would lose them.
 */
export async function keepDropped(
  place: KeepPlace,
  run: TaskRun,
  why: string,
  attempt: KeptAttempt | null,
  note: string | null = 'commits dropped from the branch',
): Promise<KeptRef[]> {
  if (run.start_sha === null) return [];
  const prefix = taskBackupPrefix(place.executionId, run.task_id);
  // What was pinned while the agent ran is read as the reflogs are, then the pin goes: what it
  // held is on the branch, in `kept`, or kept below.
  const pinned = pinRef(place.executionId, run.task_id);
  const pin = await readPin(place.repoRoot, pinned, place.env);
  const tip = await branchSha(place.repoRoot, run.branch);
  const inWorktree = await isWorktreeRoot(run.worktree);
  // Its `.git` file gone: HEAD and its reflog are read in its admin folder, never the folder.
  const stranded = inWorktree ? null : await strandedAdmin(place.repoRoot, run.worktree);
  const head = inWorktree
    ? (await git(run.worktree, ['rev-parse', 'HEAD'])).stdout.trim()
    : stranded === null
      ? null
      : await headOf(stranded, place.env);
  const dropped = await keepDroppedCommits({
    repoRoot: place.repoRoot,
    worktree: inWorktree ? run.worktree : null,
    stranded,
    branch: run.branch,
    startSha: run.start_sha,
    env: place.env,
    refFor:
      attempt === null ? (sha) => `${prefix}/left-${sha.slice(0, 12)}` : besideAttempt(attempt.ref),
    kept: [
      ...(attempt === null
        ? []
        : [attempt.sha, ...(attempt.branchSha === null ? [] : [attempt.branchSha])]),
      ...[tip, head].filter((sha): sha is string => sha !== null),
      ...(run.kept_refs ?? []).map((entry) => entry.sha),
    ],
    why,
    ...(note === null ? {} : { note }),
    ...(pin === null ? {} : { pinned: pin.commits }),
  });
  (run.kept_refs ??= []).push(...dropped);
  if (pin !== null) await dropPin(place.repoRoot, pinned, pin, place.env);
  return dropped;
}

/**
 * After a collection that kept nothing dropped (its HEAD's reflog showed no reset or amend): when
 * the pin holds commits that `heads` (the branch, the collected head) do not contain, an expire
 * took those from the reflog, and they are kept as dropped ones (`keepLeft`, which drops the
 * pin); else the pin is deleted. One rev-list, whatever the number pinned.
 */
export async function settlePin(
  place: KeepPlace,
  run: TaskRun,
  heads: readonly string[],
  keepLeft: () => Promise<void>,
): Promise<void> {
  const ref = pinRef(place.executionId, run.task_id);
  const pin = await readPin(place.repoRoot, ref, place.env);
  if (pin === null) return;
  const off = await git(place.repoRoot, ['rev-list', '--count', '--stdin'], {
    env: place.env,
    input: `${[...pin.commits, ...heads.map((sha) => `^${sha}`)].join('\n')}\n`,
    allowExitCodes: [128],
  });
  // Cannot tell (an id the agent forged into the pin): the full search decides.
  if (off.exitCode !== 0 || Number(off.stdout.trim()) > 0) await keepLeft();
  else await dropPin(place.repoRoot, ref, pin, place.env);
}

/**
 * A pin no keeping has taken yet (the task failed with its worktree gone or not its own, or
 * `clean` found the task as a killed orchestrator left it): what it holds off the branch is kept
 * as `left-<sha>` refs, recorded in `kept_refs`, and the pin goes. Nothing when there is no pin.
 */
export async function keepPinLeft(place: KeepPlace, run: TaskRun, why: string): Promise<KeptRef[]> {
  if (run.start_sha === null) return [];
  const pin = await readPin(place.repoRoot, pinRef(place.executionId, run.task_id), place.env);
  if (pin === null) return [];
  return keepDropped(place, run, why, null);
}

/** The commit HEAD of a worktree's admin folder names; null when there is none. */
async function headOf(admin: string, env: Record<string, string>): Promise<string | null> {
  const head = await git(admin, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], {
    env: { ...env, GIT_DIR: admin },
    allowExitCodes: [1, 128],
  });
  return head.exitCode === 0 ? head.stdout.trim() : null;
}

/** What a task's worktree and branch hold beyond its start commit. */
export interface TaskWork {
  /** Commits on the task branch or the worktree's HEAD that the start commit lacks. */
  commits: number;
  /** Uncommitted paths (the tool's own left out); absent when the worktree is gone. */
  changed?: string[];
  /** Uncommitted changes, the files the tool itself put in the worktree excepted. */
  dirty: boolean;
}

/**
 * Whether an agent left work for this task. No start commit means the agent never started (its
 * worktree was still being prepared), so whatever is there is the preparation's, not work.
 * `toolFiles`: paths the tool copies into worktrees (replicated configuration).
 */
export async function taskWork(
  repoRoot: string,
  run: TaskRun,
  toolFiles: readonly string[],
): Promise<TaskWork> {
  if (run.start_sha === null) return { commits: 0, dirty: false };
  const inWorktree = await isWorktreeRoot(run.worktree);
  const tips = [await branchSha(repoRoot, run.branch)];
  if (inWorktree) tips.push((await git(run.worktree, ['rev-parse', 'HEAD'])).stdout.trim());
  const heads = tips.filter((sha): sha is string => sha !== null);
  const commits =
    heads.length === 0
      ? 0
      : Number(
          (
            await git(repoRoot, ['rev-list', '--count', ...heads, `^${run.start_sha}`, '--'])
          ).stdout.trim(),
        );
  if (!inWorktree) return { commits, dirty: false };
  const ours = new Set([CONTEXT_FILE, ...toolFiles]);
  const status = await git(run.worktree, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--no-renames',
  ]);
  const changed = status.stdout
    .split('\0')
    .filter(Boolean)
    .map((entry) => entry.slice(3))
    .filter((path) => !ours.has(path));
  return { commits, dirty: changed.length > 0, changed };
}

/**
 * Of `changed` (worktree-relative), the files written after `since` (an ISO time): in a failed
 * task's worktree, a person's edits, made after its agent had ended.
 */
export async function changedSince(
  worktree: string,
  changed: readonly string[],
  since: string | null,
): Promise<string[]> {
  if (since === null) return [];
  const after = Date.parse(since);
  const newer: string[] = [];
  for (const path of changed) {
    const stats = await lstat(join(worktree, path)).catch(() => null);
    if (stats !== null && stats.mtimeMs > after) newer.push(path);
  }
  return newer;
}

/** `2 commits and uncommitted changes`, `1 commit`, `uncommitted changes`. */
export function workText(work: TaskWork): string {
  const commits = `${work.commits} commit${work.commits === 1 ? '' : 's'}`;
  if (work.commits > 0 && work.dirty) return `${commits} and uncommitted changes`;
  return work.commits > 0 ? commits : work.dirty ? 'uncommitted changes' : 'nothing';
}
