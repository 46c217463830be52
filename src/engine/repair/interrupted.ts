import { basename, join } from 'node:path';
import { canonicalPath, isInside, listWorktrees } from '../workspace/worktree-list.js';
import type { IntegrationResult, RepairInFlight, RepairRecord } from '../integrate/schema.js';
import { escapeRegExp } from '../regexp.js';
import type { ExecutionState } from '../state/schema.js';
import {
  attemptRef,
  isAncestor,
  keepAttempt,
  nextAttemptNumber,
  refSha,
} from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';
import { branchSha, removeWorktree } from '../workspace/worktree.js';
import { keepRepairAttempt } from './repair.js';
import { repairTargets } from './targets.js';

export interface SettleInput {
  state: ExecutionState;
  executionDir: string;
  env: Record<string, string>;
  identity: GitIdentity;
  /** Why the attempts did not end: `the orchestrator stopped`. */
  why: string;
  notify(message: string, taskId: string | null): void;
}

/** The attempts the state says were under way: a repair loop that did not end. */
export function interruptedRepairs(state: ExecutionState): RepairInFlight[] | null {
  return state.integration?.repairing?.attempts ?? null;
}

/**
 * A repair loop that did not end (the orchestrator was killed, or the loop failed): each attempt
 * under way has what its agent left kept under its `<task>-repair/attempt-<n>` ref, its worktree
 * removed, and its task's record says it was interrupted (outcome `failed`, never merged; the
 * attempt counts in `attempts` and in `interrupted`, not against the limit, so a repair run after
 * this tries it again). Repairs being integrated when it stopped may have moved the integration
 * branch past the head the state records: that tip is kept under an `integration/attempt-<n>`
 * ref and the branch put back, so the branch and the state agree; the scratch branches of that
 * integration are kept and removed the same way. Returns what was done, in sentences (also
 * notified). Nothing to do when the state shows no repair loop.
 */
export async function settleInterruptedRepairs(input: SettleInput): Promise<string[]> {
  const { state } = input;
  const integration = state.integration;
  const flight = integration?.repairing;
  if (integration === null || flight === undefined) return [];
  const notes = await setAsideUnrecordedLanding(input, integration);
  const records = new Map((integration.repairs ?? []).map((r) => [r.taskId, r]));
  for (const entry of flight.attempts) {
    const refs = await keepRepairAttempt({
      repoRoot: state.repo_root,
      executionId: state.execution_id,
      taskId: entry.taskId,
      worktree: entry.worktree,
      branch: entry.branch,
      baseSha: entry.baseSha,
      env: input.env,
      identity: input.identity,
      why: `repair attempt ${entry.attempt} of task ${entry.taskId}, interrupted (${input.why})`,
    });
    const headSha = await branchSha(state.repo_root, entry.branch);
    await removeWorktree(state.repo_root, entry.worktree);
    const kept = refs.length > 0 ? `what it left is kept as ${refs[0]}` : 'it had left nothing';
    const reason = `interrupted: ${input.why} during attempt ${entry.attempt}; ${kept}`;
    records.set(
      entry.taskId,
      interruptedRecord(state, integration, records.get(entry.taskId), entry, {
        reason,
        refs,
        headSha,
      }),
    );
    const note = `repair attempt ${entry.attempt} (${entry.kind}) ${reason}`;
    input.notify(note, entry.taskId);
    notes.push(`${entry.taskId}: ${note}`);
  }
  integration.repairs = [...records.values()];
  delete integration.repairing;
  return notes;
}

function interruptedRecord(
  state: ExecutionState,
  integration: IntegrationResult,
  previous: RepairRecord | undefined,
  entry: RepairInFlight,
  end: { reason: string; refs: string[]; headSha: string | null },
): RepairRecord {
  // What the loop knew of the target (the other tasks, the files), found again from the state.
  const target = repairTargets(state, integration, [entry.kind]).find(
    (t) => t.taskId === entry.taskId,
  );
  const workspace = {
    attempt: entry.attempt,
    branch: entry.branch,
    worktree: entry.worktree,
    baseSha: entry.baseSha,
    headSha: end.headSha,
  };
  return {
    taskId: entry.taskId,
    kind: previous?.kind ?? entry.kind,
    attempts: Math.max(previous?.attempts ?? 0, entry.attempt),
    outcome: 'failed',
    with: previous?.with ?? target?.others ?? [],
    files: previous?.files ?? target?.files ?? [],
    branch: entry.branch,
    reason: end.reason,
    keptRefs: [...(previous?.keptRefs ?? []), ...end.refs],
    workspaces: [...(previous?.workspaces ?? []), workspace],
    interrupted: (previous?.interrupted ?? 0) + 1,
    durationMs: previous?.durationMs ?? 0,
    inputTokens: previous?.inputTokens ?? null,
    outputTokens: previous?.outputTokens ?? null,
    costUsd: previous?.costUsd ?? null,
  };
}

/**
 * The integration of repaired branches runs on a scratch branch `<integration>-repair-<n>` (in an
 * `integration-*` worktree), then moves the integration branch forward to it; the state records
 * the new head just after. Stopped in between, the branch is ahead of the state: what it and the
 * scratch branches hold is kept under `integration/attempt-<n>` refs, the scratch branches and
 * worktrees removed and the integration branch put back where the state says it is. Only
 * branches that descend from the recorded head are touched (a branch of the same name made by
 * anything else is left alone).
 */
async function setAsideUnrecordedLanding(
  input: SettleInput,
  integration: IntegrationResult,
): Promise<string[]> {
  const { state, env } = input;
  const root = state.repo_root;
  const head = integration.headSha;
  const why = `repairs being integrated when ${input.why}`;
  /** The tip under the next `integration/attempt-<n>`, with a worktree's uncommitted state. */
  const keep = async (sha: string, branch: string, worktree: string | null): Promise<string> => {
    const n = await nextAttemptNumber(root, state.execution_id, 'integration', env);
    const ref = attemptRef(state.execution_id, 'integration', n);
    const kept =
      worktree === null
        ? null
        : await keepAttempt({
            repoRoot: root,
            worktree,
            branch,
            ref,
            env,
            identity: input.identity,
            why,
          });
    if (kept === null) await git(root, ['update-ref', '-m', why, ref, sha], { env });
    return ref;
  };
  const notes: string[] = [];
  const scratch = new RegExp(
    `^refs/heads/${escapeRegExp(integration.branch)}-repair-[0-9]+(-[0-9]+)?$`,
  );
  const listed = await git(
    root,
    [
      'for-each-ref',
      '--format=%(objectname) %(refname)',
      `refs/heads/${integration.branch}-repair-*`,
    ],
    { env },
  );
  const worktrees = await listWorktrees(root);
  const workdir = await canonicalPath(join(input.executionDir, 'worktrees'));
  for (const line of listed.stdout.split('\n').filter(Boolean)) {
    const [sha, ref] = line.split(' ') as [string, string];
    if (!scratch.test(ref) || !(await isAncestor(root, head, sha, env))) continue;
    const branch = ref.slice('refs/heads/'.length);
    const entry = worktrees.find((w) => w.branch === ref);
    const inOurs =
      entry !== undefined &&
      isInside(await canonicalPath(entry.path), workdir) &&
      /^integration-/.test(basename(entry.path));
    if (entry !== undefined && !inOurs) continue; // checked out by someone: not ours to remove
    const kept = await keep(sha, branch, entry?.path ?? null);
    if (entry !== undefined) await removeWorktree(root, entry.path);
    await git(root, ['update-ref', '-d', ref, sha], { env });
    notes.push(
      `the scratch branch ${branch} of an integration of repairs that did not finish is kept as ${kept} and removed`,
    );
  }
  const ref = `refs/heads/${integration.branch}`;
  const tip = await refSha(root, ref, env);
  if (tip !== null && tip !== head && (await isAncestor(root, head, tip, env))) {
    const kept = await keep(tip, integration.branch, null);
    await git(
      root,
      [
        'update-ref',
        '-m',
        `parallel-executor: back to the head the state records (${why})`,
        ref,
        head,
        tip,
      ],
      { env },
    );
    notes.push(
      `the integration branch ${integration.branch} had moved to ${tip.slice(0, 12)} (${why}) past the head the state records: kept as ${kept}, put back at ${head.slice(0, 12)}`,
    );
  }
  for (const note of notes) input.notify(note, null);
  return notes;
}
