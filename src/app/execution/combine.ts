/**
 * One execution state out of its waves' states (each wave's run uploads the state of that wave
 * only), so the final report and the integration PR speak for the whole execution: every task
 * that ran, everything merged into the one integration branch, every conflict on the way.
 */
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import type { ExecutionState, TaskRun } from '../../engine/state/schema.js';

/** `states` in wave order; null when there is none. */
export function combineWaves(states: readonly ExecutionState[]): ExecutionState | null {
  const [first] = states;
  const last = states.at(-1);
  if (!first || !last) return null;
  if (states.length === 1) return first;
  const tasks: Record<string, TaskRun> = {};
  const order: string[] = [];
  for (const state of states) {
    for (const id of state.task_order) {
      const run = state.tasks[id];
      if (!run) continue;
      // A later wave's entry wins, except a placeholder for a task that did not run there.
      if (tasks[id] && run.status === 'pending') continue;
      tasks[id] = run;
      if (!order.includes(id)) order.push(id);
    }
  }
  const runs = Object.values(tasks);
  return {
    ...last,
    base_ref: first.base_ref,
    base_sha: first.base_sha,
    started_at: first.started_at,
    status: states.some((s) => s.status === 'failed') ? 'failed' : last.status,
    tasks,
    task_order: order,
    completed_tasks: runs.filter((r) => r.status === 'completed').map((r) => r.task_id),
    failed_tasks: runs.filter((r) => r.status === 'failed').map((r) => r.task_id),
    messages: states.flatMap((s) => s.messages),
    integration: combineIntegrations(states.map((s) => s.integration)),
    report_path: [...states].reverse().find((s) => s.report_path)?.report_path ?? null,
  };
}

function combineIntegrations(
  results: ReadonlyArray<IntegrationResult | null>,
): IntegrationResult | null {
  const present = results.filter((r): r is IntegrationResult => r !== null);
  const [first] = present;
  const last = present.at(-1);
  if (!first || !last) return null;
  const notes = present.flatMap((r) => r.notes ?? []);
  return {
    ...last,
    baseSha: first.baseSha,
    merged: [...new Set(present.flatMap((r) => r.merged))],
    conflicts: present.flatMap((r) => r.conflicts),
    dropped: present.flatMap((r) => r.dropped),
    predictedConflicts: present.flatMap((r) => r.predictedConflicts),
    risks: present.flatMap((r) => r.risks ?? []),
    testRuns: present.reduce((n, r) => n + r.testRuns, 0),
    testsPassed: last.testsPassed,
    ...(notes.length > 0 ? { notes } : {}),
  };
}
