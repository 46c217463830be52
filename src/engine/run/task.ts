import { sep } from 'node:path';
import { collectTask, copyLog } from '../collect/collect.js';
import type { TaskRun } from '../monitor/state.js';
import { runAttempt, type AttemptResult } from './attempt.js';
import { save, setStatus, type RunContext } from './context.js';
import { prepareTask, resetTaskWorkspace, TaskPreparationError } from './prepare.js';
import { reattachTaskBranch } from '../workspace/worktree.js';
import { MissingDirectoryError } from '../errors.js';
import { pathExists } from '../path-exists.js';

/**
 * One task from start to settled: prepare its workspace, run the agent (again, up to the retry
 * limit, from a clean start each time), collect its work, hand it to validation. Never throws:
 * whatever goes wrong becomes the task's `failed` status and reason.
 */
export async function runTask(ctx: RunContext, run: TaskRun): Promise<void> {
  try {
    setStatus(ctx, run, 'preparing');
    await prepareTask(ctx, run);
    if (ctx.signal.aborted) return cancel(ctx, run);
    const result = await runAttempts(ctx, run);
    if (result.kind === 'cancelled') return cancel(ctx, run);
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

/** Nothing left to collect there; what the agent committed is on its branch, which is kept. */
function worktreeGone(run: TaskRun): string {
  return `the worktree ${run.worktree} no longer exists (the agent removed it?); its commits are kept on ${run.branch}`;
}

async function runAttempts(ctx: RunContext, run: TaskRun): Promise<AttemptResult> {
  // Counted per run of the task: a resumed task gets its full number of tries again.
  for (let tries = 1; ; tries += 1) {
    run.attempts += 1;
    save(ctx);
    const result = await runAttempt(ctx, run);
    if (result.kind !== 'failed') return result;
    if (tries > ctx.settings.retries || ctx.signal.aborted) return result;
    ctx.emit({
      type: 'task-retry',
      taskId: run.task_id,
      attempt: run.attempts + 1,
      reason: result.reason ?? 'failed',
    });
    await resetTaskWorkspace(ctx, run);
    if (ctx.signal.aborted) return { ...result, kind: 'cancelled' };
  }
}

async function collect(ctx: RunContext, run: TaskRun, result: AttemptResult): Promise<void> {
  setStatus(ctx, run, 'collecting');
  const lost = await reattachTaskBranch(run.worktree, run.branch);
  if (lost !== null) return fail(ctx, run, lost);
  const collected = await collectTask({
    worktree: run.worktree,
    taskId: run.task_id,
    taskTitle: run.task,
    agent: run.agent,
    startSha: run.start_sha!,
    identity: ctx.settings.identity,
    keepOut: ctx.replicated.get(run.task_id) ?? [],
    outputDir: run.output_dir,
    logFile: run.log_file,
    durationMs: result.durationMs,
    inputTokens: result.inputTokens,
    outputTokens: result.outputTokens,
    costUsd: result.costUsd,
    agentSummary: result.summary,
  });
  run.head_sha = collected.headSha;
  run.metrics = collected.metrics;
  run.progress_percent = 100;
  const hook = ctx.hooks.onTaskCollected;
  if (hook !== undefined) {
    setStatus(ctx, run, 'validating');
    const report = await hook(run, ctx.state);
    run.validation = report;
    if (report?.status === 'FAILED') {
      const failed = report.checks.filter((c) => !c.passed && !c.skipped && c.critical);
      return fail(
        ctx,
        run,
        `validation failed: ${failed.map((c) => c.name).join(', ') || 'see the validation report'}`,
      );
    }
  }
  setStatus(ctx, run, 'completed');
}

async function fail(ctx: RunContext, run: TaskRun, reason: string): Promise<void> {
  await copyLog(run.log_file, run.output_dir);
  setStatus(ctx, run, 'failed', reason);
}

function cancel(ctx: RunContext, run: TaskRun): void {
  setStatus(ctx, run, 'cancelled', 'stopped by the user; resume with `parallel-executor resume`');
}
