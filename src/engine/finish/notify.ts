import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState } from '../state/schema.js';

/** Tell the shell what the finishing steps are doing (a `note` event beside the orchestrator's). */
export type Notify = (state: ExecutionState, message: string, taskId?: string | null) => void;

export function notifier(
  onEvent: ((event: ExecutionEvent, state: ExecutionState) => void) | undefined,
): Notify {
  return (state, message, taskId = null) => onEvent?.({ type: 'note', message, taskId }, state);
}
