/** Names and identifiers the app gives things on GitHub, in one place. */

export const SUMMARY_CHECK_NAME = 'parallel-executor';
/** The dashboard comment's marker key (`<!-- parallel-executor:dashboard -->`). */
export const DASHBOARD_MARKER_KEY = 'dashboard';
/** The artifact the workflow's integrate job uploads with the execution's final state. */
export const STATE_ARTIFACT = 'parallel-executor-state';
/**
 * The state the reusable workflow's publish job checked and published (the tasks it calls merged
 * are in the integration branch it pushed), uploaded by the step named below. A run whose publish
 * job has that step is read from this artifact only.
 */
export const PUBLISHED_ARTIFACT = 'parallel-executor-published';
export const PUBLISHED_STEP = 'Upload the published state';
/** The integrate job's result for the publish job: its presence says the run is the reusable workflow's. */
export const RESULT_ARTIFACT = 'parallel-executor-result';
/** The report artifact of the reusable workflow; read too, for the state or report it holds. */
export const REPORT_ARTIFACT = 'parallel-executor-report';
export const REPORT_FILE = 'report.md';

/** Button identifiers on the summary check run (≤ 20 characters). */
export const RETRY_FAILED_ACTION = {
  label: 'Retry failed',
  identifier: 'retry-failed',
  description: 'Run the failed tasks again',
} as const;
export const CANCEL_ACTION = {
  label: 'Cancel',
  identifier: 'cancel',
  description: 'Cancel this execution',
} as const;

/**
 * The task id of a workflow job. Matrix legs are named `agent 1.1` by the reusable workflow
 * (`name: agent ${{ matrix.task }}`), `agent (1.1)` by GitHub's default naming (with more matrix
 * values: `agent (1.1, x)`), and get a `caller / ` prefix when the workflow is called from
 * another. Other jobs (`plan`, `integrate`) have none. `job: 'repair'` reads the repair legs
 * (`repair 1.1`) the same way.
 */
export function taskIdFromJobName(name: string, job: 'agent' | 'repair' = 'agent'): string | null {
  const last = name.split(' / ').pop()?.trim() ?? '';
  const match =
    new RegExp(`^${job}\\s*\\(([^,()]+)(?:,[^()]*)?\\)$`, 'i').exec(last) ??
    new RegExp(`^${job}\\s+(\\S+)$`, 'i').exec(last);
  return match ? match[1]!.trim() : null;
}

/**
 * The check run of a task's repair leg (`repair 1.1`, after `integrate`). A separate check run:
 * GitHub's API description does not say a completed check run may go back to `in_progress`.
 */
export function repairCheckName(taskCheck: string): string {
  return `${taskCheck} (repair)`;
}
