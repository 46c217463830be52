import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTEXT_FILE } from '../collect/collect.js';
import type { AgentEvent, AgentHandle, AgentOutcome, StopReason } from '../ports/agent-runner.js';
import type { TaskRun } from '../state/schema.js';
import { addUsage } from '../state/usage.js';
import { save, setStatus, showProgress, type RunContext } from './context.js';
import { formatDuration } from '../format.js';
import { agentKey } from './paths.js';
import { reportLeftBehind } from './processes.js';
import { statusFileOf } from './prepare.js';
import { adminDir } from '../workspace/worktree-admin.js';
import { pinRef, startPinning, type Pinner } from './pin.js';

/** Why a task the user stopped (Ctrl-C) is cancelled: resume runs its agent again (resume.ts). */
export const STOPPED_BY_USER = 'stopped by the user; resume with `parallel-executor resume`';

export interface AttemptResult {
  /** `ok`: exited 0; `failed`: may be retried; `cancelled`: the user stopped the run; `budget`: the budget did. */
  kind: 'ok' | 'failed' | 'cancelled' | 'budget';
  reason: string | null;
  /** Failed in a way no retry can fix (the API key refused…): not retried, and no task started after. */
  fatal?: boolean;
  exitCode: number | null;
  durationMs: number;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from / written to the cache (Claude Code); absent when the agent does not say. */
  cacheReadTokens?: number | null;
  cacheCreationTokens?: number | null;
  costUsd: number | null;
  summary: string | null;
}

/** An attempt's tokens and cost: its running totals while it runs, then its final figures. */
type AttemptUsage = Pick<
  AttemptResult,
  'inputTokens' | 'outputTokens' | 'cacheReadTokens' | 'cacheCreationTokens' | 'costUsd'
>;

/** Diagnostics kept per task (a retry loop could say the same thing hundreds of times). */
const MAX_DIAGNOSTICS = 20;

/** The most to wait for the last events after the process ended, if the stream has not ended. */
const EVENT_DRAIN_MS = 300;

/**
 * One run of the agent on the task: start it, follow its events, enforce the wall-clock and idle
 * limits (SIGTERM, then SIGKILL to the whole tree after the grace period), and classify the end.
 */
export async function runAttempt(ctx: RunContext, run: TaskRun): Promise<AttemptResult> {
  const startedAt = ctx.clock.now();
  const admin = await adminDir(run.worktree).catch(() => null);
  await noteReflog(ctx, run, admin);
  const pinner = await pinWhileRunning(ctx, run, admin);
  let handle: AgentHandle;
  try {
    handle = await ctx.runner.start({
      executionId: ctx.state.execution_id,
      taskId: run.task_id,
      taskTitle: run.task,
      agent: run.agent,
      branch: run.branch,
      worktree: run.worktree,
      contextFile: join(run.worktree, CONTEXT_FILE),
      statusFile: statusFileOf(ctx, run),
      logFile: run.log_file,
      port: run.port,
      env: {
        ...ctx.env,
        PE_MESSAGES_DIR: ctx.paths.messagesDir,
        PE_INBOX: join(ctx.paths.messagesDir, agentKey(run.agent), 'inbox'),
      },
    });
  } catch (error) {
    await pinner?.stop();
    return failure(`the agent could not start: ${(error as Error).message}`, null, 0);
  }
  run.pid = handle.pid;
  run.started_at ??= startedAt.toISOString();
  // A new attempt starts from zero (the dashboard says which attempt); within one, never backwards.
  run.progress_percent = 0;
  run.current_step = null;
  setStatus(ctx, run, 'in_progress');

  let stopReason: StopReason | null = null;
  let budgetWhy = '';
  const stop = (reason: StopReason) => {
    if (stopReason !== null) return;
    stopReason = reason;
    handle
      .stop(reason === 'budget' ? 'cancelled' : reason, ctx.settings.graceMs)
      .catch((error: unknown) => {
        ctx.logger.error('could not stop an agent', { task: run.task_id, error: String(error) });
      });
  };
  const wall = setTimeout(() => stop('timeout'), ctx.settings.taskTimeoutMs);
  let idle = setTimeout(() => stop('idle'), ctx.settings.idleTimeoutMs);
  // Every event is life. An announced wait (an API retry) holds until its end, whatever else the
  // agent prints meanwhile: the idle limit counts from then.
  let waitingUntil = 0;
  const stillAlive = (event: AgentEvent): void => {
    if (event.type === 'waiting') waitingUntil = Math.max(waitingUntil, Date.now() + event.ms);
    clearTimeout(idle);
    if (stopReason !== null) return;
    const waitMs = Math.max(0, waitingUntil - Date.now());
    idle = setTimeout(() => stop('idle'), waitMs + ctx.settings.idleTimeoutMs);
  };
  // The user's stop is in the state file at once, before the agent is gone: a second Ctrl-C ends
  // the orchestrator in the grace, and `resume` must still know the agent did not finish (work an
  // agent left when the orchestrator died is otherwise taken as done).
  const onAbort = () => {
    if (stopReason === null) {
      run.reason = STOPPED_BY_USER;
      save(ctx);
    }
    stop('cancelled');
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  // What the task spent before this attempt; the attempt's running totals are added on top.
  const usageBefore = run.usage ?? null;
  const untrack = ctx.budget.track(run.task_id, (why) => {
    budgetWhy = why;
    stop('budget');
  });

  // Filled by the event loop below; an object so the closure's writes are visible here.
  const seen: { error: string | null; fatal: string | null; usage: AttemptUsage | null } = {
    error: null,
    fatal: null,
    usage: null,
  };
  const follow = (async () => {
    for await (const event of handle.events) {
      stillAlive(event);
      const note = onEvent(ctx, run, event);
      if (note.error !== undefined) seen.error = note.error;
      if (event.type === 'error' && event.fatal === true && seen.fatal === null) {
        seen.fatal = event.message;
        stop('fatal');
      }
      if (note.usage !== undefined) {
        // As it arrives, for the live view and the budget; the outcome's figures are the final ones.
        seen.usage = note.usage;
        run.usage = addUsage(usageBefore, note.usage);
        save(ctx, { soon: true });
        ctx.emit({ type: 'task-usage', taskId: run.task_id });
        ctx.budget.update();
      }
    }
  })().catch((error: unknown) => {
    ctx.logger.warn('agent event stream failed', { task: run.task_id, error: String(error) });
  });

  let outcome: AgentOutcome;
  try {
    outcome = await handle.done;
  } finally {
    clearTimeout(wall);
    clearTimeout(idle);
    ctx.signal.removeEventListener('abort', onAbort);
    untrack();
    // What the agent committed last is pinned before collection looks.
    const held = (await pinner?.stop()) ?? true;
    if (held) ctx.unpinned?.delete(run.task_id);
    else (ctx.unpinned ??= new Set()).add(run.task_id);
  }
  // The process's event stream ends before `done` resolves, so this normally returns at once;
  // the limit only guards against an adapter whose stream never ends.
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    follow,
    new Promise((resolve) => (drainTimer = setTimeout(resolve, EVENT_DRAIN_MS))),
  ]);
  clearTimeout(drainTimer);
  clearTimeout(idle);
  run.pid = null;
  run.exit_code = outcome.exitCode;
  if (outcome.leftBehind != null) {
    reportLeftBehind(ctx.state, ctx.emit, run.task_id, outcome.leftBehind, 'after the agent ended');
  }
  save(ctx);

  const durationMs = ctx.clock.now().getTime() - startedAt.getTime();
  const tokens: AttemptUsage = {
    inputTokens: outcome.inputTokens ?? seen.usage?.inputTokens ?? null,
    outputTokens: outcome.outputTokens ?? seen.usage?.outputTokens ?? null,
    cacheReadTokens: outcome.cacheReadTokens ?? seen.usage?.cacheReadTokens ?? null,
    cacheCreationTokens: outcome.cacheCreationTokens ?? seen.usage?.cacheCreationTokens ?? null,
    costUsd: outcome.costUsd ?? seen.usage?.costUsd ?? null,
  };
  // A failed or stopped attempt was paid for too.
  run.usage = addUsage(usageBefore, tokens);
  save(ctx);
  ctx.budget.update();
  // Read through a cast: the closures above set it, which the compiler's narrowing cannot see.
  const stopped = (stopReason as StopReason | null) ?? outcome.stoppedBecause;
  const base = { exitCode: outcome.exitCode, durationMs, ...tokens, summary: outcome.summary };
  if (stopped === 'budget') {
    return { kind: 'budget', reason: `stopped by the budget: ${budgetWhy}`, ...base };
  }
  if (stopped === 'cancelled') return { kind: 'cancelled', reason: 'stopped by the user', ...base };
  const fatal = seen.fatal ?? (stopped === 'fatal' ? (outcome.agentError ?? null) : null);
  if (fatal !== null) return { kind: 'failed', reason: fatal, fatal: true, ...base };
  if (stopped === 'timeout') {
    return {
      kind: 'failed',
      reason: `timed out: still running after ${formatDuration(ctx.settings.taskTimeoutMs)} (task time limit); stopped`,
      ...base,
    };
  }
  if (stopped === 'idle') {
    return {
      kind: 'failed',
      reason: `hung: no output and no status change for ${formatDuration(ctx.settings.idleTimeoutMs)} (idle limit); stopped`,
      ...base,
    };
  }
  const agentError = outcome.agentError ?? null;
  if (outcome.exitCode === 0 && agentError === null) return { kind: 'ok', reason: null, ...base };
  if (outcome.exitCode === 0) {
    // Exit 0 but its last word was an error (status file `has_error`, Claude's `is_error`).
    return { kind: 'failed', reason: `the agent reported an error: ${agentError}`, ...base };
  }
  const how =
    outcome.exitCode === null
      ? `was killed by ${outcome.signal ?? 'a signal'}`
      : `exited with code ${outcome.exitCode}`;
  const tail = lastLines(outcome.lastLines);
  const error = agentError ?? seen.error;
  const said = error !== null ? `; it reported: ${error}` : '';
  return { kind: 'failed', reason: `agent ${how}${said}${tail}`, ...base };
}

function failure(reason: string, exitCode: number | null, durationMs: number): AttemptResult {
  return {
    kind: 'failed',
    reason,
    exitCode,
    durationMs,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    summary: null,
  };
}

function lastLines(lines: readonly string[]): string {
  const shown = lines
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-5);
  if (shown.length === 0) return '';
  const text = shown.join(' | ');
  return `; last output: ${text.length > 400 ? `…${text.slice(-400)}` : text}`;
}

interface EventNote {
  error?: string;
  usage?: AttemptUsage;
}

function onEvent(ctx: RunContext, run: TaskRun, event: AgentEvent): EventNote {
  switch (event.type) {
    case 'started':
      run.pid = event.pid;
      save(ctx);
      return {};
    case 'progress': {
      if (event.percent !== null) {
        // Never backwards within an attempt: an agent that rewrites its status with a lower
        // figure (a new sub-plan, a rough guess) must not make the bar shrink.
        const reported = Math.max(0, Math.min(100, Math.round(event.percent)));
        run.progress_percent = Math.max(run.progress_percent, reported);
      }
      if (event.step !== null) run.current_step = event.step;
      save(ctx, { soon: true });
      showProgress(ctx, run);
      return {};
    }
    case 'output':
      ctx.emit({ type: 'task-output', taskId: run.task_id, line: event.line });
      return {};
    case 'usage':
      return {
        usage: {
          inputTokens: event.inputTokens,
          outputTokens: event.outputTokens,
          cacheReadTokens: event.cacheReadTokens ?? null,
          cacheCreationTokens: event.cacheCreationTokens ?? null,
          costUsd: event.costUsd,
        },
      };
    case 'error':
      ctx.emit({ type: 'warning', taskId: run.task_id, message: event.message });
      return { error: event.message };
    case 'diagnostic': {
      const diagnostics = (run.diagnostics ??= []);
      if (diagnostics.includes(event.message) || diagnostics.length >= MAX_DIAGNOSTICS) return {};
      diagnostics.push(event.message);
      save(ctx);
      ctx.emit({ type: 'task-diagnostic', taskId: run.task_id, message: event.message });
      return {};
    }
    case 'alive':
    case 'waiting':
      return {};
  }
}

/** Whether the worktree has a HEAD reflog as its agent starts (RunContext.reflogged). */
async function noteReflog(ctx: RunContext, run: TaskRun, admin: string | null): Promise<void> {
  const text =
    admin === null ? null : await readFile(join(admin, 'logs', 'HEAD'), 'utf8').catch(() => null);
  if (text !== null && text.trim() !== '') (ctx.reflogged ??= new Set()).add(run.task_id);
  else ctx.reflogged?.delete(run.task_id);
}

/**
 * The commits the agent makes, pinned as they appear (run/pin.ts), so that another agent's
 * `reflog expire` and `gc --prune=now` cannot take those it drops before collection keeps them.
 * Null when there is nothing to follow (no admin folder); a failure to start is logged, and the
 * attempt goes on as before.
 */
async function pinWhileRunning(
  ctx: RunContext,
  run: TaskRun,
  admin: string | null,
): Promise<Pinner | null> {
  if (admin === null || run.start_sha === null) return null;
  const onError = (error: unknown): void => {
    ctx.logger.warn('could not pin the commits of a running agent', {
      task: run.task_id,
      error: String(error),
    });
  };
  try {
    return await startPinning({
      repoRoot: ctx.state.repo_root,
      admin,
      branch: run.branch,
      ref: pinRef(ctx.state.execution_id, run.task_id),
      env: ctx.env,
      identity: ctx.settings.identity,
      skip: [run.start_sha],
      onFull: (message) => {
        (run.warnings ??= []).push(message);
        save(ctx);
        ctx.emit({ type: 'warning', taskId: run.task_id, message });
      },
      onError,
    });
  } catch (error) {
    onError(error);
    return null;
  }
}
