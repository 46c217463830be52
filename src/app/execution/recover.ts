/**
 * Executions the app lost track of: a workflow run that ended while the app was down (finalise it
 * now), or one that never got going (close it so the PR is free again).
 */
import type { Config } from '../../engine/config/schema.js';
import type { Scope } from '../scope.js';
import { cancelTaskChecks } from './cancel-checks.js';
import { finalizeExecution } from './finalize.js';
import type { LockedExecution } from './lock.js';
import { cancelDashboardRedraw, writeDashboard } from './refresh.js';
import { writeSummary } from './start.js';
import { resolveExecution, type ResolvedExecution } from './resolve.js';

/** Returns an execution that goes on (its next wave started, now or just before): the PR is busy. */
export async function finalizeEnded(
  scope: Scope,
  ended: LockedExecution[],
  config: Config | null,
): Promise<LockedExecution | null> {
  let goesOn: LockedExecution | null = null;
  for (const locked of ended) {
    const execution = await resolveExecution(scope, locked.lock.sha, locked.lock.execution);
    if (!execution || locked.lock.run === null) continue;
    if (execution.record.pastRuns.includes(locked.lock.run)) {
      goesOn ??= locked;
      continue;
    }
    const run = await scope.api.getRun(locked.lock.run);
    scope.log.info('finalising an execution whose end was missed', {
      execution: locked.lock.execution,
    });
    const result = await finalizeExecution(
      scope,
      execution,
      { id: run.id, conclusion: run.conclusion, url: run.url },
      config,
    );
    if (result?.phase === 'running') goesOn ??= locked;
  }
  return goesOn;
}

/** Close an execution that has no workflow run to wait for (cancelled before it was dispatched). */
export async function closeWithoutRun(
  scope: Scope,
  execution: ResolvedExecution,
  reason: string,
): Promise<void> {
  await cancelTaskChecks(scope, execution, { title: 'Cancelled', summary: reason });
  // Not written yet when the execution never got as far as its dispatch.
  await writeSummary(scope, execution, {
    status: 'completed',
    conclusion: 'cancelled',
    output: {
      title: 'Cancelled',
      summary: `${execution.summary.outputSummary ?? ''}\n\n${reason}`,
    },
    actions: [],
  });
  cancelDashboardRedraw(scope, execution.record.execution);
  await writeDashboard(scope, execution, { phase: 'cancelled', note: `⏹️ ${reason}` });
}
