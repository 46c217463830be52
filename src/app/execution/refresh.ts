/**
 * Redraws the dashboard comment from GitHub's state. Progress events only schedule a redraw; the
 * coalescer turns a burst of them into one edit per execution.
 */
import type { Scope } from '../scope.js';
import { dashboardBody, type DashboardLock } from './dashboard.js';
import { resolveExecution, type ResolvedExecution } from './resolve.js';
import { buildExecutionState, type ExecutionPhase } from './state.js';
import { waveLabel } from './waves.js';

export async function writeDashboard(
  scope: Scope,
  execution: ResolvedExecution,
  options: { phase: ExecutionPhase | 'starting'; note?: string | null; finishedAt?: string | null },
): Promise<void> {
  const { record } = execution;
  if (record.pr === null || record.comment === null) return;
  const now = scope.deps.clock.now();
  const lock: DashboardLock = {
    execution: record.execution,
    status:
      options.phase === 'running' || options.phase === 'starting' ? options.phase : 'finished',
    sha: record.sha,
    run: record.run,
    // A wave dispatched without a known run is given up after a while: count from its dispatch.
    startedAt: record.waveStartedAt ?? record.startedAt,
  };
  const phase = options.phase === 'starting' ? 'running' : options.phase;
  const state = buildExecutionState(record, execution.checks, {
    now,
    phase,
    finishedAt: options.finishedAt ?? null,
  });
  const body = dashboardBody(
    lock,
    state,
    {
      runUrl: record.runUrl,
      note: options.note ?? null,
      wave: options.phase === 'running' || options.phase === 'starting' ? waveLabel(record) : null,
    },
    now,
  );
  const edited = await scope.api.updateComment(record.comment, body);
  if (!edited)
    scope.log.warn('dashboard comment is gone; not recreating it', { execution: record.execution });
}

/** Notes waiting for the next redraw of an execution's dashboard (shown once, as before). */
const pendingNotes = new Map<string, string>();

/** The execution ended and drew its dashboard itself: drop any redraw still pending. */
export function cancelDashboardRedraw(scope: Scope, executionId: string): void {
  scope.deps.coalescer.discard(executionId);
  pendingNotes.delete(`${scope.owner}/${scope.repo}:${executionId}`);
}

/**
 * Ask for a coalesced redraw of a running execution's dashboard, from what this process knows.
 * `delayMs`: how long this redraw may wait for more news (default: the coalescer's).
 */
export function scheduleDashboard(
  scope: Scope,
  sha: string,
  executionId: string,
  options: { note?: string | null; delayMs?: number } = {},
): void {
  const key = `${scope.owner}/${scope.repo}:${executionId}`;
  if (options.note) pendingNotes.set(key, options.note);
  scope.deps.coalescer.schedule(
    executionId,
    async () => {
      const execution = await resolveExecution(scope, sha, executionId, { cached: true });
      // Finished meanwhile: the final edit was made by the run's end, do not overwrite it.
      if (!execution || execution.summary.status === 'completed') return;
      const note = pendingNotes.get(key) ?? null;
      pendingNotes.delete(key);
      await writeDashboard(scope, execution, { phase: 'running', note });
    },
    options.delayMs,
  );
}
