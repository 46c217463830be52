import type { ExecutionEvent } from './events.js';
import type { ExecutionState } from '../state/schema.js';
import { integrationProgressText } from './integration-progress.js';

/**
 * One line per event, for logs and terminals that are not a TTY. Output lines are left out
 * (they are in the task's log); null means "nothing to print".
 */
export function formatEventLine(
  event: ExecutionEvent,
  state: ExecutionState,
  now: Date,
): string | null {
  const time = now.toISOString().slice(11, 19);
  const label = (taskId: string) => {
    const run = state.tasks[taskId];
    return run ? `${taskId} (${run.agent})` : taskId;
  };
  switch (event.type) {
    case 'execution-started':
      return `${time} ${event.resumed ? 'resumed' : 'started'} ${event.executionId}: ${state.task_order.length} task(s)`;
    case 'task-status': {
      const run = state.tasks[event.taskId];
      const extra =
        event.status === 'in_progress' && run
          ? ` on ${run.branch}${run.attempts > 1 ? ` (attempt ${run.attempts})` : ''}`
          : '';
      return `${time} ${label(event.taskId)} ${event.status}${extra}${event.reason ? ` — ${event.reason}` : ''}`;
    }
    case 'task-progress':
      return `${time} ${label(event.taskId)} ${event.percent}%${event.step ? ` ${event.step}` : ''}`;
    case 'task-output':
    case 'task-usage':
      return null;
    case 'task-diagnostic':
      return `${time} ${label(event.taskId)} ${event.message}`;
    case 'integration-progress':
      return `${time} integration: ${integrationProgressText(event.progress)}`;
    case 'task-retry':
      return `${time} ${label(event.taskId)} retrying (attempt ${event.attempt}) — ${event.reason}`;
    case 'message':
      return `${time} message ${event.message.message_id} ${event.message.from_agent} → ${event.message.to_agent} (${event.message.message_type})`;
    case 'message-acknowledged':
      return `${time} message ${event.message.message_id} acknowledged by ${event.message.to_agent}`;
    case 'message-escalated':
      return `${time} WARNING message ${event.message.message_id} to ${event.message.to_agent} unacknowledged for ${Math.round(event.ageMs / 1000)}s`;
    case 'warning':
      return `${time} WARNING ${event.taskId ? `${label(event.taskId)} ` : ''}${event.message}`;
    case 'note':
      return `${time} ${event.taskId ? `${label(event.taskId)} ` : ''}${event.message}`;
    case 'execution-finished': {
      const done = state.completed_tasks.length;
      const failed = state.failed_tasks.length;
      return `${time} ${state.execution_id} ${event.status}: ${done} completed, ${failed} failed of ${state.task_order.length}`;
    }
  }
}
