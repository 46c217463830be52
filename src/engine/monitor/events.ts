import type { IntegrationProgress } from '../integrate/schema.js';
import type { AgentMessage, ExecutionStatus, TaskRunStatus } from '../state/schema.js';

/**
 * What happens during an execution, as the orchestrator tells the shells: a TTY redraws its
 * dashboard on each, a log prints one line per event, the Action could annotate.
 */
export type ExecutionEvent =
  | { type: 'execution-started'; executionId: string; resumed: boolean }
  | { type: 'task-status'; taskId: string; status: TaskRunStatus; reason: string | null }
  | { type: 'task-progress'; taskId: string; percent: number; step: string | null }
  | { type: 'task-output'; taskId: string; line: string }
  /** The task's tokens and cost changed while its agent runs (its `usage`, updated live). */
  | { type: 'task-usage'; taskId: string }
  /** The agent said something the user must see (`diagnostics`): a retry, a denied tool. */
  | { type: 'task-diagnostic'; taskId: string; message: string }
  | { type: 'integration-progress'; progress: IntegrationProgress }
  | { type: 'task-retry'; taskId: string; attempt: number; reason: string }
  | { type: 'message'; message: AgentMessage }
  | { type: 'message-acknowledged'; message: AgentMessage }
  | { type: 'message-escalated'; message: AgentMessage; ageMs: number }
  | { type: 'warning'; message: string; taskId: string | null }
  /** What validation, integration, the report and clean-up are doing once agents are done. */
  | { type: 'note'; message: string; taskId: string | null }
  | { type: 'execution-finished'; status: ExecutionStatus };

export type ExecutionEventListener = (event: ExecutionEvent) => void;
