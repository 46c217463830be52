import { sep } from 'node:path';
import {
  collectTask,
  copyLog,
  CONTEXT_FILE,
  ownIgnoresWarning,
  SUMMARY_FILE,
} from '../collect/collect.js';
import { MAX_KEPT_IGNORED } from '../workspace/own-ignores.js';
import { inspectWorktree } from '../collect/inspect.js';
import type { TaskRun } from '../state/schema.js';
import { runAttempt, STOPPED_BY_USER, type AttemptResult } from './attempt.js';
import { save, setStatus, showProgress, type RunContext } from './context.js';
import {
  keepPlaceOf,
  prepareTask,
  reopenForCollection,
  resetTaskWorkspace,
  TaskPreparationError,
} from './prepare.js';
import { branchSha, isWorktreeRoot, reattachTaskBranch } from '../workspace/worktree.js';
import { namedBack, strandedAdmin } from '../workspace/worktree-admin.js';
import { git } from '../workspace/git-exec.js';
import {
  keepDropped,
  keepPinLeft,
  keepSubmoduleWork,
  keepTaskState,
  settlePin,
  taskWork,
} from './keep.js';
import { BUDGET_RESUME_HINT } from './budget.js';

/**
 * Where a task starts: from the beginning, or — on resume, when its agent's work is already in its
 * worktree and branch — at collection, so that the agent is not run again over it.
 */
export type ResumePoint = 'start' | 'collect';
import { MissingDirectoryError } from '../errors.js';
import { pathExists } from '../path-exists.js';
import { validationFailureReason } from '../validate/failure-reason.js';

/**
 * One task from start to settled: prepare its workspace, run the agent (again, up to the retry
 * limit, from a clean start each time, each failed attempt kept under a backup ref), collect its
 * work, hand it to validation. Never throws: whatever goes wrong becomes the task's `failed`
 * status and reason.
 */
export async function runTask(
  ctx: RunContext,
  run: TaskRun,
  from: ResumePoint = 'start',
): Promise<void> {
  try {
    if (from === 'collect') {
      await reopenForCollection(ctx, run);
      return await collect(ctx, run, foundWork(ctx, run));
    }
    setStatus(ctx, run, 'preparing');
    await prepareTask(ctx, run);
    if (ctx.signal.aborted) return cancel(ctx, run);
    const result = await runAttempts(ctx, run);
    if (result.kind === 'cancelled') return cancel(ctx, run);
    if (result.kind === 'budget')
      return stopForBudget(ctx, run, result.reason ?? 'stopped by the budget');
    if (result.kind === 'failed') return fail(ctx, run, result.reason ?? 'failed');
    if (!(await pathExists(run.worktree))) return fail(ctx, run, worktreeGone(run));
    await collect(ctx, run, result);
  } catch (error) {
    if (ctx.signal.aborted) return cancel(ctx, run);
    await fail(ctx, run, failureReason(run, error));
  }
}

function failureReason(run: TaskRun, error: unknown): string {
  if (error instanceof TaskPreparationError) return error.message;
  if (error instanceof MissingDirectoryError && isInside(error.directory, run.worktree)) {
    return worktreeGone(run);
  }
  return `internal error: ${(error as Error).message}`;
}

function isInside(path: string, directory: string): boolean {
  return path === directory || path.startsWith(`${directory}${sep}`);
}

/** Its worktree is there, but its `.git` does not name its own admin folder back. */
async function notOwn(run: TaskRun): Promise<boolean> {
  return (await pathExists(run.worktree)) && (await namedBack(run.worktree)) === null;
}

/** What the collection proper answers when it found the worktree not its own (and ran no git). */
const NOT_OWN = Symbol('not its own worktree');

/**
 * Its `.git` no longer names its own admin folder (or is gone): no git is run there. `kept`: where
 * its state, read through its admin folder, is kept (a `.git` removed or garbled, not pointed
 * elsewhere).
 */
function notOwnWorktree(run: TaskRun, kept: string | null): string {
  const where =
    kept === null
      ? `What the agent committed before is on ${run.branch}.`
      : `Its HEAD and uncommitted files, read through its own git folder, are kept at ${kept}; what it committed on its branch is on ${run.branch}.`;
  return `its worktree ${run.worktree} is no longer a git worktree of its own (its .git file was removed, replaced, or changed to name another worktree's git folder), so no git command was run there: nothing in it was committed or merged, and no other worktree was touched. ${where} Look at the folder, put its .git file back (or move the folder away), then retry the task (parallel-executor resume <execution> --retry-failed)`;
}

/** Failed for a worktree that is no longer its own, its state kept first when it can be. */
async function failNotOwn(ctx: RunContext, run: TaskRun): Promise<void> {
  await fail(ctx, run, notOwnWorktree(run, await keepStranded(ctx, run)), false);
}

/**
 * A worktree whose `.git` file its agent removed or garbled (`strandedAdmin`): its state (HEAD,
 * commits on no branch, uncommitted files) kept under its next attempt ref through its admin
 * folder, which clean-up prunes once the folder has no `.git`. The refs kept, in words; null when
 * it is not such a worktree or keeping failed.
 */
async function keepStranded(ctx: RunContext, run: TaskRun): Promise<string | null> {
  if (run.start_sha === null) return null;
  if ((await strandedAdmin(ctx.state.repo_root, run.worktree)) === null) return null;
  const before = run.kept_refs?.length ?? 0;
  try {
    await keepTaskState(keepPlaceOf(ctx, run), run, `the failed attempt ${run.attempts}`);
  } catch (error) {
    ctx.logger.warn('could not keep a failed task under a ref', {
      task: run.task_id,
      error: String(error),
    });
  }
  const kept = (run.kept_refs ?? []).slice(before).map((entry) => entry.ref);
  return kept.length === 0 ? null : kept.join(', ');
}

/** Nothing left to collect there; what the agent committed is on its branch, which is kept. */
function worktreeGone(run: TaskRun): string {
  return `the worktree ${run.worktree} no longer exists (the agent removed it?); its commits are kept on ${run.branch}`;
}

async function runAttempts(ctx: RunContext, run: TaskRun): Promise<AttemptResult> {
  // Counted per run of the task: a resumed task gets its full number of tries again.
  for (let tries = 1; ; tries += 1) {
    // Another task met a failure this one would meet too: it does not start its agent.
    if (ctx.halted !== undefined && tries === 1) return haltedResult(ctx.halted);
    run.attempts += 1;
    save(ctx);
    const result = await runAttempt(ctx, run);
    if (result.kind !== 'failed') return result;
    if (result.fatal === true) {
      // Retrying cannot help, and every other task would fail the same way.
      ctx.halted ??= result.reason ?? 'failed';
      return result;
    }
    if (
      tries > ctx.settings.retries ||
      ctx.signal.aborted ||
      ctx.halted !== undefined ||
      // A retry is a new start: not once the budget is reached.
      !ctx.budget.canStart()
    ) {
      return result;
    }
    // Its .git file removed or pointed elsewhere: the retry's reset would run git on whatever
    // checkout git finds from the folder (the user's own, above it): switched to the task branch
    // and cleaned.
    if (await notOwn(run)) {
      return {
        ...result,
        reason: `${result.reason ?? 'failed'}; not retried, since its worktree ${run.worktree} is no longer a git worktree of its own (its .git file was removed or replaced): look at the folder, move it out of the way, then resume --retry-failed`,
      };
    }
    ctx.emit({
      type: 'task-retry',
      taskId: run.task_id,
      attempt: run.attempts + 1,
      reason: result.reason ?? 'failed',
    });
    await resetTaskWorkspace(ctx, run, result.reason ?? 'failed');
    if (ctx.signal.aborted) return { ...result, kind: 'cancelled' };
  }
}

async function collect(ctx: RunContext, run: TaskRun, result: AttemptResult): Promise<void> {
  setStatus(ctx, run, 'collecting');
  // Every git command below runs in the worktree: with a `.git` the agent pointed elsewhere, it
  // would add, commit and reset in another worktree (the user's). Not one is run there then.
  if (await notOwn(run)) return failNotOwn(ctx, run);
  const waiting = ctx.repoLock.checkoutsOpen();
  if (waiting > 0) {
    // Seen on the dashboard for as long as it lasts (on a big repository, tens of seconds).
    run.current_step = `waiting for ${waiting} checkout(s) of tasks about to start, then collecting`;
    save(ctx, { soon: true });
    showProgress(ctx, run);
  }
  // The agent has ended: the look at the user's checkout runs while its work is collected. Both
  // read a whole checkout, heavy on a big repository: they wait for the checkouts of tasks still
  // waiting to start, which come first (agents that end meanwhile share one look).
  const looking = ctx.repoLock.afterCheckouts(
    async () => (await ctx.checkout?.afterAgent(run.task_id)) ?? null,
  );
  looking.catch(() => undefined);
  const keepOut = ctx.replicated.get(run.task_id) ?? [];
  const settled = await ctx.repoLock.afterCheckouts(async () =>
    // Looked at again once its turn comes: the wait can be long, and a process the agent left
    // behind can point the `.git` elsewhere meanwhile.
    (await notOwn(run)) ? NOT_OWN : commitWork(ctx, run, result, keepOut),
  );
  if (waiting > 0) run.current_step = null;
  if (settled === NOT_OWN) return failNotOwn(ctx, run);
  if (settled !== null) return refuse(ctx, run, settled);
  // Its work is committed on its branch first, so a task failed for this loses nothing.
  const intrusion = await looking;
  if (intrusion !== null) return fail(ctx, run, intrusion);
  const hook = ctx.hooks.onTaskCollected;
  if (hook !== undefined) {
    setStatus(ctx, run, 'validating');
    const report = await hook(run, ctx.state);
    run.validation = report;
    if (report?.status === 'FAILED') {
      return fail(ctx, run, await validationFailureReason(report, ctx.state.repo_root));
    }
  }
  setStatus(ctx, run, 'completed');
}

/**
 * The ended agent's work committed on its branch (collection proper). Null when done, else why it
 * was not collected.
 */
async function commitWork(
  ctx: RunContext,
  run: TaskRun,
  result: AttemptResult,
  keepOut: string[],
): Promise<string | null> {
  const inspected = await inspectWorktree({
    worktree: run.worktree,
    startSha: run.start_sha!,
    toolPaths: [CONTEXT_FILE, SUMMARY_FILE, ...keepOut],
  });
  if (inspected.problems.length > 0) return inspected.problems.join('; ');
  const lost = await reattachTaskBranch(run.worktree, run.branch, inspected.head?.ref);
  if (lost !== null) return lost;
  const collected = await collectTask({
    worktree: run.worktree,
    taskId: run.task_id,
    taskTitle: run.task,
    agent: run.agent,
    startSha: run.start_sha!,
    // Reattaching does not move HEAD.
    inspected,
    identity: ctx.settings.identity,
    keepOut,
    outputDir: run.output_dir,
    logFile: run.log_file,
    durationMs: result.durationMs,
    // Every attempt's, this run's and earlier ones' (a resumed task's first run counts too).
    inputTokens: run.usage?.input_tokens ?? null,
    outputTokens: run.usage?.output_tokens ?? null,
    cacheReadTokens: run.usage?.cache_read_tokens ?? null,
    cacheCreationTokens: run.usage?.cache_creation_tokens ?? null,
    costUsd: run.usage?.cost_usd ?? null,
    agentSummary: result.summary,
  });
  run.head_sha = collected.headSha;
  run.metrics = collected.metrics;
  run.progress_percent = 100;
  // Done with nothing to show: integration merges nothing, so the plan must not call it done.
  run.warnings = (run.warnings ?? []).filter((warning) => warning !== NO_CHANGES);
  if (collected.metrics.files_modified === 0) run.warnings.push(NO_CHANGES);
  for (const warning of collected.warnings) {
    if (!run.warnings.includes(warning)) run.warnings.push(warning);
  }
  if (inspected.wandered) await keepCommitsLeft(ctx, run);
  else if (ctx.unpinned?.has(run.task_id) !== true) {
    // The HEAD reflog shows no reset or amend, but an expire may have emptied it: what was
    // pinned while the agent ran tells.
    const heads = [run.head_sha, inspected.head?.sha].filter((sha): sha is string => !!sha);
    await settlePin(keepPlaceOf(ctx, run), run, heads, () => keepCommitsLeft(ctx, run));
  }
  if (run.head_sha !== null) await keepSubmoduleWork(keepPlaceOf(ctx, run), run, run.head_sha);
  if (collected.hiddenByIgnores.length > 0)
    await keepIgnoredWork(ctx, run, collected.hiddenByIgnores);
  if (inspected.reflogGone && ctx.reflogged?.has(run.task_id) === true) {
    run.warnings.push(
      `the HEAD reflog of its worktree ${run.worktree} was emptied during the run (git reflog expire, often with git gc --prune=now, by this agent or another): the commits it made were pinned as they appeared, so those it dropped (a reset, an amend) are kept and named here; one made, dropped and pruned within milliseconds could not be pinned and may be gone; what its branch holds was collected`,
    );
  }
  return null;
}

/** A task stopped before its agent ran, because another task's failure would be its own too. */
function haltedResult(reason: string): AttemptResult {
  return {
    kind: 'failed',
    reason: `not started: ${reason} (in another task; fix it and resume with --retry-failed)`,
    fatal: true,
    exitCode: null,
    durationMs: 0,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    summary: null,
  };
}

/** The work found by resume, as if its agent had just ended: nothing is known of that run. */
function foundWork(ctx: RunContext, run: TaskRun): AttemptResult {
  const started = run.started_at === null ? null : Date.parse(run.started_at);
  return {
    kind: 'ok',
    reason: null,
    exitCode: null,
    durationMs: started === null ? 0 : Math.max(0, ctx.clock.now().getTime() - started),
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    summary: null,
  };
}

/**
 * Commits the agent made and then left behind (on a detached HEAD or another branch it switched
 * away from, or dropped by a reset or an amend): not merged, but kept, each under a ref named
 * after it, and named in a warning, so that cleaning up the worktree loses none of them.
 */
async function keepCommitsLeft(ctx: RunContext, run: TaskRun): Promise<void> {
  const why = 'commits the agent made and left off its branch (not merged)';
  const left = await keepDropped(keepPlaceOf(ctx, run), run, why, null, null);
  if (left.length === 0) return;
  run.warnings = [
    ...(run.warnings ?? []),
    `the agent made commits it then left off its branch (a reset, an amend, or commits on another branch or a detached HEAD it switched away from): they are not merged; kept at ${left.map((kept) => kept.ref).join(', ')}`,
  ];
}

/**
 * Files the agent hid with its own .gitignore lines: kept under a ref now (the snapshot takes them
 * in), not only when the worktree is removed, and named in a warning.
 */
async function keepIgnoredWork(ctx: RunContext, run: TaskRun, hidden: string[]): Promise<void> {
  let keptAt: string | null = null;
  if (hidden.length <= MAX_KEPT_IGNORED) {
    const why = 'files only its own .gitignore lines hide (not merged)';
    const kept = await keepTaskState(keepPlaceOf(ctx, run), run, why).catch(() => null);
    keptAt = kept?.ref ?? null;
  }
  (run.warnings ??= []).push(ownIgnoresWarning(run.worktree, hidden, keptAt));
}

/** "Did nothing" is not "done". */
const NO_CHANGES = 'the agent changed nothing: its branch has no difference from its start commit';

/**
 * Collection found the worktree unfit to merge: nothing is committed onto the task branch; its
 * state (and commits dropped from the branch) is kept under refs the output names, the worktree
 * stays for a person to look at, and the task fails with the reason.
 */
async function refuse(ctx: RunContext, run: TaskRun, reason: string): Promise<void> {
  let where: string;
  try {
    const why = `not collected: ${reason}`.slice(0, 200);
    const before = run.kept_refs?.length ?? 0;
    // Its commits dropped from the branch too (keepTaskState).
    await keepTaskState(keepPlaceOf(ctx, run), run, why);
    const kept = (run.kept_refs ?? []).slice(before);
    where =
      kept.length === 0
        ? `the worktree is kept at ${run.worktree}`
        : `its state is kept at ${kept.map((k) => k.ref).join(', ')} and in the worktree`;
  } catch (error) {
    where = `it could not be kept under a ref (${(error as Error).message.split('\n')[0]}); the worktree is kept at ${run.worktree}`;
  }
  await fail(ctx, run, `${reason} (${where})`, false);
}

async function fail(ctx: RunContext, run: TaskRun, reason: string, keep = true): Promise<void> {
  await copyLog(run.log_file, run.output_dir);
  // The worktree stays for a person, but what the agent left uncommitted (or on a HEAD its branch
  // lacks) is also put under a ref now: a later retry, resume or clean can then lose nothing.
  const stranded = keep ? await keepFailedWork(ctx, run) : null;
  // What was pinned while its agent ran, when nothing above kept it (its worktree gone or not its
  // own): `resume --retry-failed` and `clean` would not look for it there.
  await keepPinLeft(keepPlaceOf(ctx, run), run, `the failed attempt ${run.attempts}`).catch(
    (error: unknown) => {
      ctx.logger.warn('could not keep the commits pinned while a failed task ran', {
        task: run.task_id,
        error: String(error),
      });
    },
  );
  // The branch tip at the failure: `resume --retry-failed` tells by it what a person added since.
  run.head_sha = await branchSha(ctx.state.repo_root, run.branch).catch(() => run.head_sha);
  setStatus(
    ctx,
    run,
    'failed',
    stranded === null
      ? reason
      : `${reason}; its worktree's .git file is gone: its HEAD and uncommitted files, read through its own git folder, are kept at ${stranded}`,
  );
}

export { STOPPED_BY_USER };

function cancel(ctx: RunContext, run: TaskRun): void {
  setStatus(ctx, run, 'cancelled', STOPPED_BY_USER);
}

/**
 * Stopped by the budget: what the agent made is kept under a ref now, as for any stopped task, and
 * the task is left resumable (`resume` collects that work rather than running the agent again).
 */
async function stopForBudget(ctx: RunContext, run: TaskRun, reason: string): Promise<void> {
  await copyLog(run.log_file, run.output_dir);
  let where = '';
  try {
    const kept = await keepTaskState(keepPlaceOf(ctx, run), run, reason.slice(0, 200));
    if (kept !== null) where = `; its work is kept at ${kept.ref}`;
  } catch (error) {
    where = `; the worktree is kept at ${run.worktree} (${(error as Error).message.split('\n')[0]})`;
  }
  setStatus(ctx, run, 'cancelled', `${reason}${where}; ${BUDGET_RESUME_HINT}`);
}

/** Where a worktree whose `.git` file is gone was kept (`keepStranded`), else null. */
async function keepFailedWork(ctx: RunContext, run: TaskRun): Promise<string | null> {
  if (run.start_sha !== null && !(await isWorktreeRoot(run.worktree)))
    return keepStranded(ctx, run);
  try {
    if (run.start_sha === null) return null;
    const work = await taskWork(ctx.state.repo_root, run, ctx.replicated.get(run.task_id) ?? []);
    const head = (await git(run.worktree, ['rev-parse', 'HEAD'])).stdout.trim();
    const tip = await branchSha(ctx.state.repo_root, run.branch);
    const why = `the failed attempt ${run.attempts}`;
    // Nothing but what the branch holds: still the commits an amend or a reset dropped from it.
    if (!work.dirty && head === tip) await keepDropped(keepPlaceOf(ctx, run), run, why, null);
    else await keepTaskState(keepPlaceOf(ctx, run), run, why);
  } catch (error) {
    ctx.logger.warn('could not keep a failed task under a ref', {
      task: run.task_id,
      error: String(error),
    });
  }
  return null;
}
