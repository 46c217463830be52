import type { IntegrationProgress } from '../integrate/schema.js';

/**
 * One plain sentence for where a running integration is:
 * `bisecting: test run 3 of at most 5 · merged 4/6 · 1 conflict`.
 */
export function integrationProgressText(progress: IntegrationProgress): string {
  const run =
    progress.testRun === 0
      ? null
      : progress.testRunsAtMost !== null && progress.testRunsAtMost > progress.testRun
        ? `test run ${progress.testRun} of at most ${progress.testRunsAtMost}`
        : `test run ${progress.testRun}`;
  const doing =
    progress.phase === 'setup'
      ? 'setting up the integration worktree'
      : progress.phase === 'merging'
        ? `merging ${progress.taskId ?? 'a task'}`
        : progress.phase === 'testing'
          ? (run ?? 'testing')
          : progress.phase === 'bisecting'
            ? `bisecting a test failure: ${run ?? 'testing'}`
            : `done after ${progress.testRun} test run${progress.testRun === 1 ? '' : 's'}`;
  const parts = [doing, `merged ${progress.merged}/${progress.total}`];
  if (progress.conflicts > 0)
    parts.push(`${progress.conflicts} conflict${progress.conflicts === 1 ? '' : 's'}`);
  const droppedOther = progress.dropped - progress.conflicts;
  if (droppedOther > 0) parts.push(`${droppedOther} dropped`);
  return parts.join(' · ');
}
