import { ensureInboxes, markUndelivered, scanMessages } from '../monitor/messages.js';
import type { AgentMessage, ExecutionState } from '../state/schema.js';
import { blockedTasks, isActive, readyTasks } from '../schedule/scheduler.js';
import { BUDGET_RESUME_HINT } from './budget.js';
import { save, setStatus, type RunContext } from './context.js';
import { agentKey } from './paths.js';
import { runTask } from './task.js';

/**
 * The dynamic schedule: whenever a task settles, skip what its failure blocks and start every
 * task that became ready. Runs until nothing is running and nothing can start.
 */
export async function executeTasks(ctx: RunContext): Promise<void> {
  const { state } = ctx;
  const agents = [
    ...new Set(Object.values(state.tasks).flatMap((run) => [run.agent, ...run.agents])),
  ];
  await ensureInboxes(ctx.paths.messagesDir, agents.map(agentKey));
  const stopMessages = watchMessages(ctx);
  const running = new Map<string, Promise<void>>();
  try {
    for (;;) {
      if (!ctx.signal.aborted && ctx.halted === undefined) startReady(ctx, running);
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    if (ctx.halted !== undefined) leaveUnstarted(ctx, ctx.halted);
    else if (!ctx.signal.aborted) {
      holdForBudget(ctx);
      skipStranded(ctx);
    }
  } finally {
    await stopMessages();
  }
}

function schedulerView(state: ExecutionState) {
  return state.task_order.map((id) => {
    const run = state.tasks[id]!;
    return { id, status: run.status, dependsOn: run.depends_on, agents: run.agents };
  });
}

function startReady(ctx: RunContext, running: Map<string, Promise<void>>): void {
  for (const { id, reason } of blockedTasks(schedulerView(ctx.state))) {
    setStatus(ctx, ctx.state.tasks[id]!, 'skipped', reason);
  }
  if (!ctx.budget.canStart()) return;
  const ready = readyTasks(schedulerView(ctx.state), { concurrency: ctx.settings.concurrency });
  for (const id of ready) {
    const run = ctx.state.tasks[id]!;
    // Marked before the next readyTasks call, so the task's agents count as busy at once.
    run.status = 'preparing';
    const from = ctx.collectOnResume.has(id) ? 'collect' : 'start';
    const work = runTask(ctx, run, from).finally(() => running.delete(id));
    running.set(id, work);
  }
}

/**
 * After a failure every task would meet (the API key refused…), the tasks not started stay
 * pending, resumable as they are, with the reason they did not start.
 */
function leaveUnstarted(ctx: RunContext, reason: string): void {
  hold(ctx, pendingIds(ctx), 'pending', `not started: ${reason} (fix it, then resume)`);
}

/** Once the budget is reached, what is still pending is not started: resumable, not failed. */
function holdForBudget(ctx: RunContext): void {
  const reached = ctx.budget.reached();
  if (reached === null) return;
  const held = pendingIds(ctx);
  ctx.state.budget?.not_started.push(...held);
  const reason = `not started: the budget was reached (${reached}); ${BUDGET_RESUME_HINT}`;
  hold(ctx, held, 'not_started', reason);
}

function pendingIds(ctx: RunContext): string[] {
  return ctx.state.task_order.filter((id) => ctx.state.tasks[id]!.status === 'pending');
}

function hold(ctx: RunContext, ids: string[], status: 'pending' | 'not_started', reason: string) {
  for (const id of ids) setStatus(ctx, ctx.state.tasks[id]!, status, reason);
}

/** Pending tasks nothing can unblock any more (a cycle, a dependency that never ran). */
function skipStranded(ctx: RunContext): void {
  for (const id of ctx.state.task_order) {
    const run = ctx.state.tasks[id]!;
    if (run.status !== 'pending') continue;
    const waiting = run.depends_on.filter((dep) => {
      const other = ctx.state.tasks[dep];
      return other !== undefined && other.status !== 'completed';
    });
    setStatus(ctx, run, 'skipped', `dependencies never completed: ${waiting.join(', ') || 'none'}`);
  }
}

function watchMessages(ctx: RunContext): () => Promise<void> {
  let scanning: Promise<void> = Promise.resolve();
  const scan = () => {
    scanning = scanning
      .then(async () => {
        const events = await scanMessages({
          messagesDir: ctx.paths.messagesDir,
          messages: ctx.state.messages,
          now: ctx.clock.now(),
          ackTimeoutMs: ctx.settings.messageAckTimeoutMs,
        });
        const undelivered = markUndelivered(ctx.state.messages, recipients(ctx.state));
        if (events.length === 0 && undelivered.length === 0) return;
        save(ctx);
        for (const message of undelivered) warnSender(ctx, message);
        for (const event of events) {
          if (event.type === 'message-escalated') {
            ctx.logger.warn('message unacknowledged', {
              message: event.message.message_id,
              to: event.message.to_agent,
            });
          }
          ctx.emit(event);
        }
      })
      .catch((error: unknown) => {
        ctx.logger.warn('could not scan the message inboxes', { error: String(error) });
      });
  };
  const timer = setInterval(scan, ctx.settings.messagePollMs);
  return async () => {
    clearInterval(timer);
    scan();
    await scanning;
  };
}

/**
 * Each agent's inbox and whether it may still read it. A task stopped or not started (cancelled,
 * held back by the budget) may run again on resume, so its agent is not finished yet.
 */
function recipients(state: ExecutionState): Map<string, 'open' | 'finished'> {
  const result = new Map<string, 'open' | 'finished'>();
  for (const run of Object.values(state.tasks)) {
    const finished = ['completed', 'failed', 'skipped'].includes(run.status);
    for (const agent of [run.agent, ...run.agents].map(agentKey)) {
      if (!finished) result.set(agent, 'open');
      else if (!result.has(agent)) result.set(agent, 'finished');
    }
  }
  return result;
}

/** The sender's task (the running one, else its latest) is warned; the report lists it too. */
function warnSender(ctx: RunContext, message: AgentMessage): void {
  const tasks = ctx.state.task_order
    .map((id) => ctx.state.tasks[id]!)
    .filter((run) =>
      [run.agent, ...run.agents].some((a) => agentKey(a) === agentKey(message.from_agent)),
    );
  const sender =
    tasks.find((run) => isActive(run.status)) ??
    tasks.filter((run) => run.started_at !== null).at(-1) ??
    null;
  const text = `message ${message.message_id} from ${message.from_agent} to ${message.to_agent} was never delivered: ${message.undelivered ?? 'its recipient had finished'}`;
  if (sender !== null) sender.warnings = [...(sender.warnings ?? []), text];
  ctx.logger.warn('message never delivered', { message: message.message_id, to: message.to_agent });
  ctx.emit({ type: 'warning', message: text, taskId: sender?.task_id ?? null });
}

/**
 * Active tasks left over (only after a crash) do not count as settled; pending ones do only when a
 * failure every task would meet held them back (`halted`): the execution failed, with the reason.
 */
export function settledStatus(state: ExecutionState, cancelled: boolean, halted = false) {
  if (cancelled) return 'cancelled' as const;
  const runs = Object.values(state.tasks);
  const unsettled = (run: (typeof runs)[number]) =>
    isActive(run.status) || (run.status === 'pending' && !halted);
  if (runs.some(unsettled)) return 'cancelled';
  return runs.every((run) => run.status === 'completed') ? 'completed' : 'failed';
}
