import type { ExecutionState, TaskRun } from '../state/schema.js';
import type { ValidationReport } from '../validate/schema.js';

/**
 * Where validation, integration and the report plug into a run without the orchestrator knowing
 * them. Both hooks may read the state; the orchestrator saves it after each returns.
 */
export interface ExecutionHooks {
  /**
   * After a task's work is committed and its output bundle written (the task is `validating`
   * meanwhile). A report is stored on the task; a `FAILED` one fails it, so its dependents are
   * skipped. Null: no validation, the task completes.
   */
  onTaskCollected?(run: TaskRun, state: ExecutionState): Promise<ValidationReport | null>;
  /**
   * Once every task has settled, before the execution is marked finished (not called when it was
   * cancelled). May set `state.integration`, `state.report_path` and `state.status`. `save`
   * writes the state to disk at once: a hook calls it after each step whose loss would cost work
   * (the integration result before anything is cleaned up).
   */
  onAllSettled?(state: ExecutionState, save?: () => Promise<void>): Promise<void>;
}
