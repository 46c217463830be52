import type { ExecutionState } from '../engine/state/schema.js';

/** The tasks the demo is built to merge cleanly, and the three it is built to stop. */
export const DEMO_MERGED = ['1.1', '1.2', '1.3', '2.1'] as const;
export const DEMO_CONFLICT = { taskId: '2.2', with: '2.1', file: 'src/config.js' } as const;
/** Passes its own tests, breaks 2.1's once both are merged: batch-and-bisect blames it. */
export const DEMO_CULPRIT = '2.4';
export const DEMO_FAILED_VALIDATION = '2.3';

/**
 * Whether the demo ran as designed: the conflict and the bisect culprit are repaired and merged,
 * the failing test is left for a person (its repair fails), the four clean tasks merge, and the
 * integration tests pass. Returns what differed; empty means as designed.
 */
export function demoDeviations(state: ExecutionState): string[] {
  const problems: string[] = [];
  const integration = state.integration;
  if (state.status === 'cancelled') problems.push('the run was stopped before it finished');
  const failing = state.tasks[DEMO_FAILED_VALIDATION];
  if (failing?.status !== 'failed' || failing.validation?.status !== 'FAILED') {
    problems.push(
      `task ${DEMO_FAILED_VALIDATION} should fail its validation (its own test fails) and stay failed; it is ${failing?.status ?? 'missing'}`,
    );
  }
  if (integration === null) {
    problems.push('no integration branch was made');
    return problems;
  }
  const missing = DEMO_MERGED.filter((id) => !integration.merged.includes(id));
  if (missing.length > 0) problems.push(`tasks ${missing.join(', ')} should have merged cleanly`);
  const repairs = integration.repairs ?? [];
  const repair = (id: string) => repairs.find((entry) => entry.taskId === id);
  const conflict = repair(DEMO_CONFLICT.taskId);
  if (
    conflict?.kind !== 'conflict' ||
    conflict.outcome !== 'merged' ||
    !conflict.with.includes(DEMO_CONFLICT.with) ||
    !conflict.files.includes(DEMO_CONFLICT.file)
  ) {
    problems.push(
      `task ${DEMO_CONFLICT.taskId} should conflict with ${DEMO_CONFLICT.with} in ${DEMO_CONFLICT.file}, and be repaired and merged`,
    );
  }
  const culprit = repair(DEMO_CULPRIT);
  if (culprit?.kind !== 'tests' || culprit.outcome !== 'merged') {
    problems.push(
      `task ${DEMO_CULPRIT} should be blamed for the failing integration tests, and be repaired and merged`,
    );
  }
  if (repair(DEMO_FAILED_VALIDATION)?.outcome !== 'failed') {
    problems.push(`the repair of task ${DEMO_FAILED_VALIDATION} should be tried and fail`);
  }
  if (integration.testsPassed !== true) problems.push('the integration tests should pass');
  return problems;
}

/** The report's sections with these headings (`## Execution Summary`…), in the report's order. */
export function reportExcerpt(report: string, headings: readonly string[]): string {
  const sections = report.split(/\n(?=## )/);
  const wanted = sections.filter((section) =>
    headings.some((heading) => section.startsWith(`## ${heading}\n`)),
  );
  return `${wanted.map((section) => section.trimEnd()).join('\n\n')}\n`;
}
