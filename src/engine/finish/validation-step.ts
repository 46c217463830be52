import type { ExecutionState, TaskRun } from '../state/schema.js';
import { detectChecks, type DetectedCheck } from '../validate/detect.js';
import type { CheckResult, ValidationReport } from '../validate/schema.js';
import { validateTask } from '../validate/validate-task.js';
import type { Notify } from './notify.js';
import type { FinishSettings } from './settings.js';

export interface ValidationStepOptions {
  settings: FinishSettings;
  /** The checks' whole environment. */
  env: Record<string, string>;
  signal?: AbortSignal;
  notify: Notify;
}

/**
 * The orchestrator's `onTaskCollected`: run the task's checks in its worktree, outputs and
 * `validation_report.json` into its output folder. Tasks validate side by side as they finish
 * (the orchestrator's concurrency limit applies); which checks run and which were skipped is said
 * once, and again only when a task's worktree detects something different.
 */
export function createValidationStep(
  options: ValidationStepOptions,
): (run: TaskRun, state: ExecutionState) => Promise<ValidationReport> {
  let lastDescription: string | null = null;
  return async (run, state) => {
    const detected = await detectChecks(run.worktree, options.settings.validation);
    const description = describeDetection(detected);
    if (description !== lastDescription) {
      options.notify(
        state,
        `validation ${lastDescription === null ? '' : 'in this worktree '}${description}`,
        lastDescription === null ? null : run.task_id,
      );
      lastDescription = description;
    }
    const report = await validateTask({
      worktree: run.worktree,
      taskId: run.task_id,
      agent: run.agent,
      outputDir: run.output_dir,
      config: options.settings.validation,
      env: options.env,
      signal: options.signal,
      checkTimeoutMs: options.settings.checkTimeoutMs,
    });
    options.notify(
      state,
      `validation ${report.status}: ${describeResults(report.checks)}`,
      run.task_id,
    );
    return report;
  };
}

/** `runs lint (npm run lint), tests (npm test, critical); skipped coverage (why), security (why)` */
export function describeDetection(checks: readonly DetectedCheck[]): string {
  const runs = checks
    .filter((check) => check.command !== null)
    .map((check) => `${check.name} (${check.command}${check.critical ? ', critical' : ''})`);
  const skipped = checks
    .filter((check) => check.command === null)
    .map((check) => `${check.name} (${check.note.replace(/^skipped: /, '')})`);
  const parts = [
    `runs ${runs.length > 0 ? runs.join(', ') : 'no check'}`,
    ...(skipped.length > 0 ? [`skipped ${skipped.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

/** `lint ✔, tests ✖ (exit 1, test_output.txt), build ✔` — skipped checks left out. */
export function describeResults(checks: readonly CheckResult[]): string {
  const ran = checks.filter((check) => !check.skipped);
  if (ran.length === 0) return 'no check ran';
  return ran
    .map((check) => {
      if (check.passed) return `${check.name} ✔`;
      const exit = check.exitCode === null ? 'stopped' : `exit ${check.exitCode}`;
      const file = check.outputFile === null ? '' : `, ${check.outputFile}`;
      const why = typeof check.failure === 'string' ? `${check.failure}; ` : '';
      return `${check.name} ✖ (${why}${exit}${file})`;
    })
    .join(', ');
}
