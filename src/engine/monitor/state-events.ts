import type { ExecutionEvent } from './events.js';
import type { ExecutionState } from '../state/schema.js';

/**
 * The events that would have turned `before` into `after`, as far as the state file tells: what a
 * watcher in another process (`status --watch`) feeds its live view. Null `before`: the start.
 */
export function eventsBetween(
  before: ExecutionState | null,
  after: ExecutionState,
): ExecutionEvent[] {
  const events: ExecutionEvent[] = [];
  if (before === null)
    events.push({ type: 'execution-started', executionId: after.execution_id, resumed: false });
  for (const id of after.task_order) {
    const now = after.tasks[id];
    if (now === undefined) continue;
    const then = before?.tasks[id];
    if (then?.status !== now.status) {
      if (before !== null || now.status !== 'pending')
        events.push({ type: 'task-status', taskId: id, status: now.status, reason: now.reason });
    } else if (
      then.progress_percent !== now.progress_percent ||
      then.current_step !== now.current_step
    ) {
      events.push({
        type: 'task-progress',
        taskId: id,
        percent: now.progress_percent,
        step: now.current_step,
      });
    }
    const said = new Set(then?.diagnostics ?? []);
    for (const message of now.diagnostics ?? []) {
      if (!said.has(message)) events.push({ type: 'task-diagnostic', taskId: id, message });
    }
    if (JSON.stringify(then?.usage ?? null) !== JSON.stringify(now.usage ?? null))
      events.push({ type: 'task-usage', taskId: id });
  }
  const progress = after.integration_progress ?? null;
  if (
    progress !== null &&
    JSON.stringify(before?.integration_progress ?? null) !== JSON.stringify(progress)
  )
    events.push({ type: 'integration-progress', progress });
  if (
    before?.status !== after.status &&
    after.status !== 'pending' &&
    after.status !== 'in_progress'
  )
    events.push({ type: 'execution-finished', status: after.status });
  return events;
}
