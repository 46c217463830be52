import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState, TaskRun, TaskRunStatus } from '../state/schema.js';
import type { StateWriter } from '../monitor/state-store.js';
import type { Plan } from '../plan/schema.js';
import type { Mutex } from '../workspace/mutex.js';
import type { WorktreePool } from '../workspace/pool.js';
import type { BudgetWatch } from './budget.js';
import type { CheckoutWatch } from './checkout-watch.js';
import type { ExecutionHooks } from './hooks.js';
import type { ExecutionPaths } from './paths.js';
import type { ExecutionSettings } from './settings.js';

/** Everything one execution's tasks share while it runs. */
export interface RunContext {
  state: ExecutionState;
  plan: Plan;
  paths: ExecutionPaths;
  settings: ExecutionSettings;
  runner: AgentRunner;
  /** The agents' environment, from the shell. */
  env: Record<string, string>;
  hooks: ExecutionHooks;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  writer: StateWriter;
  /** Serialises repository-wide git operations. */
  repoLock: Mutex;
  /** Per task, the untracked files replicated into its worktree (never committed). */
  replicated: Map<string, string[]>;
  /**
   * The tasks whose worktree had a HEAD reflog when their agent started (git keeps one unless
   * core.logAllRefUpdates is off): one gone at the end was expired during the run.
   */
  reflogged?: Set<string>;
  /**
   * The tasks whose last attempt in this process ended with no pin ref (none was there and its
   * agent's commits needed none: run/pin.ts): their collection need not look for one.
   */
  unpinned?: Set<string>;
  /** Tasks whose agent's work `resume` found in place: they start at collection, not the agent. */
  collectOnResume: ReadonlySet<string>;
  /** Files tracked in the user's checkout, listed once per execution. */
  tracked(): Promise<Set<string>>;
  emit(event: ExecutionEvent): void;
  /** The run's budget: whether a task may start, and which running agents to stop. */
  budget: BudgetWatch;
  /** Worktrees kept ready by an earlier run's clean-up (absent: none are used). */
  pool?: WorktreePool;
  /** Compares the user's checkout with how it was at the start (absent in unit tests). */
  checkout?: CheckoutWatch;
  /**
   * Set when a task failed in a way every task would (the API key refused, no credit left): no
   * task starts after it; those waiting stay pending, with this as their reason, for `resume`.
   */
  halted?: string;
}

/**
 * Persist the state (coalesced) without waiting; failures are logged, the run goes on. `soon`:
 * the change only refreshes an agent's progress or usage, and may wait a moment for company.
 */
export function save(ctx: RunContext, options: { soon?: boolean } = {}): void {
  ctx.writer.save(ctx.state, options).catch((error: unknown) => {
    ctx.logger.error('could not write the execution state', { error: String(error) });
  });
}

/** The task's progress and current step as the state has them, to whoever shows them. */
export function showProgress(ctx: RunContext, run: TaskRun): void {
  ctx.emit({
    type: 'task-progress',
    taskId: run.task_id,
    percent: run.progress_percent,
    step: run.current_step,
  });
}

export function setStatus(
  ctx: RunContext,
  run: TaskRun,
  status: TaskRunStatus,
  reason: string | null = null,
): void {
  run.status = status;
  run.reason = reason;
  const now = ctx.clock.now().toISOString();
  if (
    status === 'completed' ||
    status === 'failed' ||
    status === 'skipped' ||
    status === 'cancelled' ||
    status === 'not_started'
  ) {
    run.finished_at = now;
    run.pid = null;
  }
  const lists = ctx.state;
  lists.completed_tasks = lists.completed_tasks.filter((id) => id !== run.task_id);
  lists.failed_tasks = lists.failed_tasks.filter((id) => id !== run.task_id);
  if (status === 'completed') lists.completed_tasks.push(run.task_id);
  if (status === 'failed') lists.failed_tasks.push(run.task_id);
  save(ctx);
  ctx.emit({ type: 'task-status', taskId: run.task_id, status, reason });
}
