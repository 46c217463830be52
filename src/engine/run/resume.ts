import { readFile } from 'node:fs/promises';
import { ParallelExecutorError, PreflightError } from '../errors.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState, TaskRun } from '../monitor/state.js';
import { Plan } from '../plan/schema.js';
import { isActive } from '../schedule/scheduler.js';
import { findRepoRoot } from '../workspace/repo.js';
import { pathExists } from '../path-exists.js';
import { deleteBranch, removeWorktree } from '../workspace/worktree.js';
import { execute, type EngineOptions, type ExecutionResult } from './orchestrator.js';
import { findExecution, isExecutionRunning } from './executions.js';
import { executionPaths } from './paths.js';
import { readRunRecord } from './record.js';
import { killProcessGroup, reportLeftBehind, stopExecutionProcesses } from './processes.js';
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
 * groups are in the state); unfinished tasks start again from a fresh worktree; completed tasks
 * and their branches are left exactly as they are.
 */
export async function resumeExecution(options: ResumeOptions): Promise<ExecutionResult> {
  const root = await findRepoRoot(options.cwd);
  const found = await findExecution(root, options.executionId ?? undefined);
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
  const plan = await readPlanSnapshot(paths.planSnapshot);
  // Orphans of the dead orchestrator, its agents' setsid'ed children included, stop before their
  // worktrees are touched.
  const emit = (event: ExecutionEvent): void => options.onEvent?.(event, state);
  const orphans = await stopExecutionProcesses(state, settings.graceMs);
  for (const [taskId, left] of orphans ?? []) {
    reportLeftBehind(state, emit, taskId, left, 'by the stopped orchestrator');
  }
  for (const run of Object.values(state.tasks)) {
    if (run.pid !== null) await killProcessGroup(run.pid, settings.graceMs);
    if (!restartable.includes(run)) continue;
    await discardWork(state, run);
    restart(run);
  }
  state.completed_tasks = state.task_order.filter((id) => state.tasks[id]!.status === 'completed');
  state.failed_tasks = state.task_order.filter((id) => state.tasks[id]!.status === 'failed');
  state.status = 'in_progress';
  state.finished_at = null;
  state.orchestrator_pid = ownPid;
  return execute(options, state, plan, paths, settings, true);
}

function needsRestart(run: TaskRun, retryFailed: boolean): boolean {
  if (run.status === 'pending' || run.status === 'cancelled' || isActive(run.status)) return true;
  return retryFailed && (run.status === 'failed' || run.status === 'skipped');
}

/** Unfinished work is discarded: the task runs again from a fresh worktree on a fresh branch. */
async function discardWork(state: ExecutionState, run: TaskRun): Promise<void> {
  if (await pathExists(run.worktree)) await removeWorktree(state.repo_root, run.worktree);
  await deleteBranch(state.repo_root, run.branch);
}

function restart(run: TaskRun): void {
  run.status = 'pending';
  run.reason = null;
  run.pid = null;
  run.progress_percent = 0;
  run.current_step = null;
  run.started_at = null;
  run.finished_at = null;
  run.start_sha = null;
  run.head_sha = null;
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
