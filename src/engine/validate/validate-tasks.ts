import type { ValidationReport } from './schema.js';
import { validateTask, type ValidateTaskOptions } from './validate-task.js';

export interface ValidateTasksOptions {
  /** Tasks validated at once (each runs its own checks one after the other). */
  concurrency: number;
  /** Called as each task's report is ready, e.g. to update the live status. */
  onReport?: (report: ValidationReport, task: ValidateTaskOptions) => void;
}

/**
 * Validate several tasks side by side, at most `concurrency` at a time. Reports come back in the
 * order of `tasks`. If one validation throws (an abort, an unwritable output folder), no new one
 * starts, the running ones finish, and the first error is thrown.
 */
export async function validateTasks(
  tasks: readonly ValidateTaskOptions[],
  options: ValidateTasksOptions,
): Promise<ValidationReport[]> {
  const reports: ValidationReport[] = new Array<ValidationReport>(tasks.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < tasks.length) {
      const index = next++;
      const task = tasks[index]!;
      try {
        const report = await validateTask(task);
        reports[index] = report;
        options.onReport?.(report, task);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const width = Math.max(1, Math.min(options.concurrency, tasks.length));
  await Promise.all(Array.from({ length: width }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return reports;
}
