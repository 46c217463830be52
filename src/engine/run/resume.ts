import { readFile, stat } from 'node:fs/promises';
import { ParallelExecutorError, PreflightError } from '../errors.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import type { TaskRun } from '../state/schema.js';
import type { IntegrationResult } from '../integrate/schema.js';
import { addUsage } from '../state/usage.js';
import { Plan } from '../plan/schema.js';
import { isActive } from '../schedule/scheduler.js';
import { settleInterruptedRepairs } from '../repair/interrupted.js';
import { recordedRepairs } from '../state/repairs.js';
import { findRepoRoot } from '../workspace/repo.js';
import { git } from '../workspace/git-exec.js';
import { replicatedFiles } from '../workspace/replicate.js';
import { acquireRepoLock, type RepoLock } from '../workspace/repo-lock.js';
import { branchSha, isWorktreeRoot, resetWorktree } from '../workspace/worktree.js';
import { pathExists } from '../path-exists.js';
import { isAncestor, refSha } from '../workspace/backup.js';
import { pruneWorktreesIn } from '../workspace/worktree-admin.js';
import { changedSince, keepTaskState, taskWork, workText, type KeepPlace } from './keep.js';
import { execute, type EngineOptions, type ExecutionResult } from './orchestrator.js';
import { rememberToolRefs } from './checkout-watch.js';
import { findExecution, isExecutionRunning } from './executions.js';
import { executionPaths } from './paths.js';
import { readRunRecord } from './record.js';
import { STOPPED_BY_USER } from './task.js';
import {
  interruptExecutionAgents,
  killProcessGroup,
  reportLeftBehind,
  reportUnread,
  stopExecutionProcesses,
} from './processes.js';
import { resolveSettings } from './settings.js';

export interface ResumeOptions extends EngineOptions {
  /** Default: the most recent execution of the repository. */
  executionId?: string | null;
  /** Also run again the tasks that failed, and those skipped because of them. */
  retryFailed?: boolean;
}

/**
 * `parallel-executor resume [ID]`: continue an execution whose orchestrator stopped — Ctrl-C, a
 * crash, even SIGKILL. Agents the dead orchestrator left running are killed first (their process
 * groups are in the state). Nothing is deleted: each task run again has its state kept under a
 * backup ref first; work an agent left is collected and validated, not redone; a task without
 * work runs again in its worktree; completed tasks and their branches are left exactly as they
 * are (a branch `clean --force` deleted is made again where the task left it, from its kept ref);
 * an integration that did not finish runs again.
 */
export async function resumeExecution(options: ResumeOptions): Promise<ExecutionResult> {
  const root = await findRepoRoot(options.cwd);
  // Before anything is read or killed: a run, resume or clean already at work here stops us.
  const lock = await acquireRepoLock(root, {
    command: 'resume',
    executionId: options.executionId ?? null,
    pid: options.orchestratorPid ?? process.pid,
  });
  try {
    return await resumeLocked(root, options, lock);
  } finally {
    await lock.release();
  }
}

async function resumeLocked(
  root: string,
  options: ResumeOptions,
  lock: RepoLock,
): Promise<ExecutionResult> {
  const found = await findExecution(root, options.executionId ?? undefined);
  await lock.setExecution(found.state.execution_id);
  const paths = executionPaths(root, found.state.execution_id);
  const state = found.state;
  const settings = resolveSettings({
    ...(await readRunRecord(paths))?.settings,
    ...options.settings,
  });
  const ownPid = options.orchestratorPid ?? process.pid;
  const owner = state.orchestrator_pid;
  if (owner !== ownPid && isExecutionRunning(state)) {
    throw new PreflightError(
      `execution ${state.execution_id} is still running (orchestrator pid ${owner})`,
      'Stop it first (Ctrl-C in its terminal, or kill it), then resume.',
    );
  }
  const retryFailed = options.retryFailed ?? false;
  const restartable = Object.values(state.tasks).filter((run) => needsRestart(run, retryFailed));
  // Integration that did not finish (stopped, git or setup failed) is run again by the hooks.
  const unintegrated =
    options.hooks?.onAllSettled !== undefined &&
    state.integration === null &&
    state.task_order.some((id) => state.tasks[id]!.status === 'completed');
  if (restartable.length === 0 && state.status !== 'in_progress' && !unintegrated) {
    if (state.status === 'completed') {
      return { state, stateFile: paths.stateFile, executionDir: paths.dir };
    }
    throw new ParallelExecutorError(
      `execution ${state.execution_id} is ${state.status}: no task is left to run`,
      'Pass --retry-failed to run its failed tasks (and those skipped because of them) again.',
    );
  }
  await options.runner.preflight();
  // The branches of an integration this resume sets aside (or that stopped half way) stay the
  // tool's own: not changes to the user's checkout.
  await rememberToolRefs(paths.dir, [
    ...[state.integration?.branch, state.integration_progress?.branch].filter(
      (branch): branch is string => branch !== undefined,
    ),
    ...(state.earlier_integrations ?? []).map((earlier) => earlier.branch),
    ...recordedRepairs(state).map((repair) => repair.branch),
  ]);
  const plan = await readPlanSnapshot(paths.planSnapshot);
  // Orphans of the dead orchestrator, its agents' setsid'ed children included, stop before their
  // worktrees are touched.
  const emit = (event: ExecutionEvent): void => options.onEvent?.(event, state);
  // The agents themselves first, the way they stop at once: on SIGTERM Claude Code goes on
  // asking the model (and writing in its worktree) while it shuts down. One still running had not
  // finished: its work is not taken as done.
  const unfinishedAgents = await interruptExecutionAgents(
    state,
    options.runner.interrupt,
    settings.graceMs,
  );
  const orphans = await stopExecutionProcesses(state, settings.graceMs);
  for (const [taskId, left] of orphans?.byTask ?? []) {
    reportLeftBehind(state, emit, taskId, left, 'by the stopped orchestrator');
  }
  if (orphans?.unread != null) {
    reportUnread(state, emit, null, orphans.unread, 'by the stopped orchestrator');
  }
  for (const run of Object.values(state.tasks)) {
    if (run.pid !== null) await killProcessGroup(run.pid, settings.graceMs);
  }
  // What the agents did after the orchestrator died is in no figure yet: it read their output.
  for (const run of Object.values(state.tasks)) {
    if (run.status !== 'in_progress') continue;
    const message = await countUnseenUsage(options.runner, run, options.env);
    if (message !== null) emit({ type: 'note', taskId: run.task_id, message });
  }
  const toolFiles = await replicatedFiles(state.repo_root, settings.replicate);
  const place: KeepPlace = {
    repoRoot: state.repo_root,
    executionId: state.execution_id,
    env: options.env,
    identity: settings.identity,
    toolFiles,
  };
  // The time it stood stopped is not time it ran: the execution's, and each task's that goes on.
  const stoppedAt = await stopTime(state.finished_at, paths.stateFile);
  const resumedAt = Date.now();
  state.stopped_ms = (state.stopped_ms ?? 0) + Math.max(0, resumedAt - stoppedAt);
  for (const run of restartable) {
    if (run.started_at === null) continue;
    const end = run.finished_at === null ? stoppedAt : Date.parse(run.finished_at);
    if (!Number.isNaN(end)) run.stopped_ms = (run.stopped_ms ?? 0) + Math.max(0, resumedAt - end);
  }
  const collectOnResume = new Set<string>();
  for (const run of restartable) {
    const unfinished = needsRestart(run, false);
    const message = unfinished
      ? await resumeUnfinished(place, run, toolFiles, collectOnResume, unfinishedAgents)
      : await retryFailedTask(place, run, toolFiles);
    if (message === null) continue;
    run.warnings = [...(run.warnings ?? []), message];
    options.onEvent?.({ type: 'warning', taskId: run.task_id, message }, state);
  }
  state.completed_tasks = state.task_order.filter((id) => state.tasks[id]!.status === 'completed');
  state.failed_tasks = state.task_order.filter((id) => state.tasks[id]!.status === 'failed');
  // Set aside below when tasks run again; a task it merged may have lost its branch to clean since.
  const earlier = state.integration;
  if (restartable.length > 0 && state.integration !== null) {
    // Repairs under way are kept (work under refs, worktrees removed) before their integration
    // is set aside: tasks run again make every repair start again from a new integration.
    await settleInterruptedRepairs({
      state,
      executionDir: paths.dir,
      env: options.env,
      identity: settings.identity,
      why: 'the orchestrator stopped',
      notify: (message, taskId) => options.onEvent?.({ type: 'warning', taskId, message }, state),
    });
    // Tasks run again, so their work must be integrated again: a new integration branch is made
    // with everything; the earlier one stays as it is (a branch is never deleted here).
    options.onEvent?.(
      {
        type: 'note',
        taskId: null,
        message: `the earlier integration branch ${state.integration.branch} is set aside (\`clean\` deletes it once everything it merged is in the new one); the tasks run again are integrated with the others into a new one`,
      },
      state,
    );
    const tip = await refSha(
      state.repo_root,
      `refs/heads/${state.integration.branch}`,
      options.env,
    );
    state.earlier_integrations = [
      ...(state.earlier_integrations ?? []),
      {
        ...state.integration,
        tip,
        reportSha:
          state.report_commit?.branch === state.integration.branch ? state.report_commit.sha : null,
      },
    ];
    state.integration = null;
  }
  // A new integration will run: the last one's progress ("done after 1 test run · merged 2/2", or
  // where a stopped one was) is not where this one is, and the live picture and status show it
  // until the new one reports. Its branch was remembered above as the tool's own.
  if (restartable.length > 0) state.integration_progress = null;
  for (const run of Object.values(state.tasks)) {
    const message = await restoreCleanedBranch(
      state.repo_root,
      run,
      state.integration?.merged,
      state.integration === null ? earlier : null,
    );
    if (message === null) continue;
    run.warnings = [...(run.warnings ?? []), message];
    options.onEvent?.({ type: 'warning', taskId: run.task_id, message }, state);
  }
  state.status = 'in_progress';
  state.finished_at = null;
  state.orchestrator_pid = ownPid;
  return execute(options, state, plan, paths, settings, true, collectOnResume);
}

/**
 * Adds to the task's usage what its last attempt spent that the orchestrator never read (the
 * runner tells, from the agent's own records); returns what the user is told, or null.
 */
async function countUnseenUsage(
  runner: AgentRunner,
  run: TaskRun,
  env: Record<string, string | undefined>,
): Promise<string | null> {
  const unseen = await runner.unseenUsage?.({ logFile: run.log_file, env }).catch(() => null);
  if (unseen == null) return null;
  run.usage = addUsage(run.usage ?? null, { ...unseen, costUsd: null });
  const tokens = `${unseen.inputTokens} input, ${unseen.outputTokens} output, ${unseen.cacheReadTokens} cache-read and ${unseen.cacheCreationTokens} cache-write tokens`;
  return `resume: the agent went on after the orchestrator stopped: ${unseen.messages} more model repl${unseen.messages === 1 ? 'y' : 'ies'} (${tokens}), read from its session ${unseen.session}, are added to the task's usage; their cost is not known`;
}

/**
 * A completed task not merged yet whose branch `clean --force` deleted (the execution was not
 * finished; its work was kept under a ref first): the branch is made again at the commit its
 * collection recorded and its validation passed, which a kept ref holds. Resume is asked to finish
 * the execution, and its integration merges task branches: without the branch the task was
 * dropped ("branch not found") and the next steps said to merge a branch that no longer exists.
 * What the task did is what lands, nothing more: never a kept ref's later state. Returns what the
 * user must be told; null when nothing was done.
 *
 * So is the branch of a completed task the earlier integration (`setAside`, which this resume
 * replaces with a new one, tasks being run again) had merged, which a plain `clean` deleted as
 * merged: the next steps of a partial run offer both the clean and `resume --retry-failed`, and in
 * that order the new integration dropped every such task ("branch not found"), its work left only
 * on the earlier integration branch, and said to merge by hand branches that no longer existed.
 */
async function restoreCleanedBranch(
  repoRoot: string,
  run: TaskRun,
  merged: readonly string[] | undefined,
  setAside: IntegrationResult | null,
): Promise<string | null> {
  if (run.status !== 'completed' || run.head_sha === null) return null;
  if (merged?.includes(run.task_id) === true) return null;
  if ((await branchSha(repoRoot, run.branch)) !== null) return null;
  if (
    setAside?.merged.includes(run.task_id) === true &&
    (await isAncestor(repoRoot, run.head_sha, setAside.headSha))
  ) {
    if (!(await createBranch(repoRoot, run.branch, run.head_sha))) return null;
    return `resume: its branch ${run.branch} had been deleted by clean once merged into ${setAside.branch}, which this resume replaces; made again at ${run.head_sha.slice(0, 12)}, the commit its collection recorded and validation passed, which ${setAside.branch} holds, so that the new integration merges it`;
  }
  for (const kept of run.kept_refs ?? []) {
    if ((await refSha(repoRoot, kept.ref)) !== kept.sha) continue;
    if (!(await isAncestor(repoRoot, run.head_sha, kept.sha))) continue;
    if (!(await createBranch(repoRoot, run.branch, run.head_sha))) return null;
    return `resume: its branch ${run.branch} had been deleted (clean --force before the execution finished); made again at ${run.head_sha.slice(0, 12)}, the commit its collection recorded and validation passed, which ${kept.ref} holds, so that the integration merges it`;
  }
  return null;
}

/** The branch made at `sha` only while absent (the empty old value): never moves one someone made since. */
async function createBranch(repoRoot: string, branch: string, sha: string): Promise<boolean> {
  const made = await git(
    repoRoot,
    ['update-ref', '-m', 'resume: branch made again', `refs/heads/${branch}`, sha, ''],
    { allowExitCodes: [128] },
  );
  return made.exitCode === 0;
}

function needsRestart(run: TaskRun, retryFailed: boolean): boolean {
  if (['pending', 'cancelled', 'not_started'].includes(run.status) || isActive(run.status)) {
    return true;
  }
  return retryFailed && (run.status === 'failed' || run.status === 'skipped');
}

/**
 * A task the stopped orchestrator had not finished. Its state is kept under a backup ref; work its
 * agent left (commits after the start, uncommitted changes — an orphaned agent may have gone on
 * after the orchestrator died, and finished) is collected and validated as it is, never redone;
 * without work the agent runs again, in the same worktree and branch. So does an agent the user
 * stopped (Ctrl-C): it did not finish, and its work must not be called done; it runs again on top
 * of the commits it made, what it left uncommitted kept under the ref. Returns what the user must
 * be told.
 */
async function resumeUnfinished(
  place: KeepPlace,
  run: TaskRun,
  toolFiles: readonly string[],
  collectOnResume: Set<string>,
  unfinishedAgents: ReadonlySet<string>,
): Promise<string | null> {
  const work = await taskWork(place.repoRoot, run, toolFiles);
  const found = work.commits > 0 || work.dirty;
  // Cancelled, or still in progress with the user's stop recorded (a second Ctrl-C ended the
  // orchestrator before the agent was gone).
  const byUser =
    run.reason === STOPPED_BY_USER && (run.status === 'cancelled' || isActive(run.status));
  // Its agent was still running when this resume began: stopped half way, like one stopped by
  // the user (the orchestrator was killed under it).
  const running = !byUser && isActive(run.status) && unfinishedAgents.has(run.task_id);
  const stopped = byUser || running;
  const kept = await keepTaskState(
    place,
    run,
    `resume: ${found ? "the agent's work" : 'the task'} as the stopped orchestrator left it (${run.status})`,
  );
  if (!found) {
    restart(run);
    return null;
  }
  if (stopped) {
    restart(run);
    const uncommitted =
      work.dirty && kept !== null ? `; what it left uncommitted is kept as ${kept.ref}` : '';
    const on = work.commits > 0 ? ` on top of the ${work.commits} commit(s) it made` : '';
    const why = running
      ? 'was still running when the orchestrator stopped, stopped now by this resume'
      : 'was stopped before it finished (Ctrl-C)';
    return `resume: the agent ${why}, so its work is not taken as done: it runs again${on}${uncommitted}`;
  }
  collectOnResume.add(run.task_id);
  reopen(run);
  const where = kept === null ? '' : `; what was found is kept as ${kept.ref}`;
  return `resume: found ${workText(work)} the agent made before the orchestrator stopped; collected and validated as it is, the agent was not run again${where}`;
}

/**
 * `--retry-failed`: the failed attempt is kept under a backup ref. Commits made on the branch
 * after the failure (a fix by hand in the kept worktree) are built on; otherwise the retry starts
 * again from the start commit.
 */
async function retryFailedTask(
  place: KeepPlace,
  run: TaskRun,
  toolFiles: readonly string[],
): Promise<string | null> {
  const failedAt = run.head_sha;
  // Files a person edited in the worktree after the failure and did not commit: only commits are
  // built on, so they are named (kept with the attempt) with how to use them.
  const work = await taskWork(place.repoRoot, run, toolFiles);
  const edited = await changedSince(run.worktree, work.changed ?? [], run.finished_at);
  const tip = await branchSha(place.repoRoot, run.branch);
  // With commits made after the failure (a fix by hand) the branch kept is the fix the retry
  // builds on, not "the failed attempt": named so, a successful retry's summary read "2 attempts"
  // beside "kept …/attempt-2: --retry-failed: the failed attempt".
  // A branch back at its start is no fix: so a resume --retry-failed killed after it moved the
  // branch back, before it saved, left it (the next one said 'building on 0 commit(s) made after
  // the failure … not from the start commit' of the start commit, and kept that as the failed
  // attempt and 0 commits).
  const fixed =
    run.status === 'failed' &&
    tip !== null &&
    failedAt !== null &&
    tip !== failedAt &&
    tip !== run.start_sha;
  const added = fixed ? await commitsBetween(place.repoRoot, failedAt, tip) : 0;
  const movedBack = tip !== null && failedAt !== null && tip !== failedAt && !fixed;
  const why = !fixed
    ? movedBack
      ? `--retry-failed: the worktree as it was, its branch already back at the start commit (the ${run.status} attempt was at ${failedAt.slice(0, 12)})`
      : `--retry-failed: the ${run.status} attempt`
    : added > 0
      ? `--retry-failed: the branch the retry builds on (the failed attempt and ${added} commit(s) made after it)`
      : `--retry-failed: the branch the retry builds on (moved back from the failed attempt at ${failedAt.slice(0, 12)})`;
  const kept = await keepTaskState(place, run, why);
  const keptText =
    kept === null
      ? ''
      : fixed
        ? `; the branch as it was is kept as ${kept.ref}`
        : movedBack
          ? `; the worktree as it was is kept as ${kept.ref}`
          : `; the failed attempt is kept as ${kept.ref}`;
  // A folder git no longer takes for the worktree (its agent removed or replaced its .git file):
  // git still has the branch checked out there, so it cannot be moved back (the resume stopped
  // with git's error, every other task left as the stopped run had it), and a retry could not
  // use the folder. It holds what the agent left: the person's to move.
  if (!(await isWorktreeRoot(run.worktree)) && (await pathExists(run.worktree))) {
    return `--retry-failed: not retried, since its worktree ${run.worktree} is no longer a git worktree of its own (its .git file was removed or replaced) and holds what the agent left: move that folder out of the way, then resume --retry-failed again${keptText}`;
  }
  let message: string | null = null;
  if (fixed) {
    const what =
      added > 0
        ? `${added} commit(s) made after the failure`
        : `the branch moved back after the failure`;
    message = `--retry-failed: building on ${what} (${run.branch} at ${tip.slice(0, 12)}): the retry starts from there, not from the start commit${keptText}`;
  } else {
    if (tip !== null && run.start_sha !== null && tip !== run.start_sha) {
      await rewindBranch(place.repoRoot, run, run.start_sha);
    }
    if (kept !== null)
      message = `--retry-failed: the retry starts from the start commit${keptText}`;
  }
  restart(run);
  if (edited.length === 0 || kept === null) return message;
  const shown = edited.slice(0, 5).join(', ') + (edited.length > 5 ? ', …' : '');
  return `${message ?? '--retry-failed'}; the uncommitted changes made in ${run.worktree} after the failure (${shown}: a fix by hand?) are not built on, only commits are: they are kept in ${kept.ref}. To have a retry build on them, bring them back in ${run.worktree} (git checkout ${kept.ref} -- <file>), commit them there, and resume with --retry-failed`;
}

async function commitsBetween(repoRoot: string, from: string, to: string): Promise<number> {
  const { stdout } = await git(repoRoot, ['rev-list', '--count', `${from}..${to}`, '--']);
  return Number(stdout.trim());
}

/** The task branch back at its start (its state is kept under a backup ref by then). */
async function rewindBranch(repoRoot: string, run: TaskRun, sha: string): Promise<void> {
  if (await isWorktreeRoot(run.worktree)) {
    await resetWorktree(run.worktree, run.branch, sha);
    return;
  }
  // Its folder moved away, git still has the branch checked out there until it forgets it.
  await pruneWorktreesIn(repoRoot, [run.worktree]);
  // Refuses when a person checked the branch out elsewhere: the error says where.
  await git(repoRoot, ['branch', '--force', '--', run.branch, sha]);
}

/** When a stopped execution stopped: its end, or (killed) the last time its state was saved. */
async function stopTime(finishedAt: string | null, stateFile: string): Promise<number> {
  const finished = finishedAt === null ? Number.NaN : Date.parse(finishedAt);
  if (!Number.isNaN(finished)) return finished;
  return (await stat(stateFile).catch(() => null))?.mtimeMs ?? Date.now();
}

/** To run from the start again; the worktree, branch and start commit are reused if they exist. */
function restart(run: TaskRun): void {
  reopen(run);
  run.progress_percent = 0;
  run.started_at = null;
  run.stopped_ms = 0;
  run.head_sha = null;
}

/** Unsettled again; what the task made so far (start commit, time, attempts) stays. */
function reopen(run: TaskRun): void {
  run.status = 'pending';
  // For the next attempt's agent, which is not to run `parallel-executor resume` itself.
  run.last_reason =
    run.reason === STOPPED_BY_USER
      ? 'stopped by the user (Ctrl-C) before it finished'
      : (run.reason ?? run.last_reason ?? null);
  run.reason = null;
  run.pid = null;
  run.current_step = null;
  run.finished_at = null;
  run.exit_code = null;
  run.metrics = null;
  run.validation = null;
}

async function readPlanSnapshot(file: string): Promise<Plan> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new ParallelExecutorError(`cannot read the plan snapshot ${file}`);
  });
  return Plan.parse(JSON.parse(text));
}
