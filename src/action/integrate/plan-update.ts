/**
 * What the integration branch records about the wave: the plan's statuses written back (the
 * engine's `writeBack`, in the plan's own dialect) and the report under `report.dir`. Landed means
 * merged into the integration branch; everything else is marked failed with a short, fixed note.
 */
import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ExecutionState, TaskRun } from '../../engine/monitor/state.js';
import type { PlanWriteBack } from '../../engine/plan/write-back.js';
import type { Plan } from '../../engine/plan/schema.js';
import { integrationFate, taskDurationMs, taskOutcome } from '../../engine/report/outcome.js';

/**
 * `reports/<execution>.md` for the first wave, `reports/<execution>-wave-2.md` for the next run
 * of the same execution (its checkout, the integration branch, already holds the first report).
 */
export async function reportPathFor(
  root: string,
  dir: string,
  executionId: string,
): Promise<string> {
  const folder = dir.replace(/^\.?\/+|\/+$/g, '') || '.';
  const existing = new Set(await readdir(join(root, folder)).catch(() => [] as string[]));
  let name = `${executionId}.md`;
  for (let wave = 2; existing.has(name); wave += 1) name = `${executionId}-wave-${wave}.md`;
  return posix.join(folder, name);
}

export function planUpdate(
  state: ExecutionState,
  plan: Plan,
  reportPath: string | null,
): PlanWriteBack {
  const tasks = state.task_order.map((id) => taskUpdate(state.tasks[id]!, state));
  const landed = new Set(tasks.filter((t) => t.outcome !== 'failed').map((t) => t.id));
  const done = (id: string) =>
    landed.has(id) ||
    ['completed', 'skipped'].includes(plan.tasks.find((t) => t.id === id)?.status ?? '');
  const touched = new Set(state.task_order.map((id) => state.tasks[id]!.group));
  const groups = plan.groups
    .filter((group) => touched.has(group.id))
    .map((group) => ({
      id: group.id,
      completed: plan.tasks.filter((t) => t.group === group.id).every((t) => done(t.id)),
    }));
  return { tasks, groups, ...(reportPath ? { reportPath } : {}) };
}

/** Conflicting tasks are also among the dropped ones; the conflict is the more useful word. */
export function conflicted(taskId: string, state: ExecutionState): boolean {
  return state.integration?.conflicts.some((c) => c.taskId === taskId) ?? false;
}

function taskUpdate(run: TaskRun, state: ExecutionState): PlanWriteBack['tasks'][number] {
  const fate = conflicted(run.task_id, state)
    ? 'conflict'
    : integrationFate(run.task_id, state.integration).kind;
  const outcome = taskOutcome(run, state.integration);
  const actualMs = taskDurationMs(run) ?? undefined;
  const time = actualMs === undefined ? {} : { actualMs };
  if (fate === 'merged') {
    return outcome === 'COMPLETE_WITH_WARNINGS'
      ? { id: run.task_id, outcome: 'warnings', ...time }
      : { id: run.task_id, outcome: 'completed', ...time };
  }
  const note =
    fate === 'conflict'
      ? 'merge conflict'
      : fate === 'dropped' || run.status === 'completed'
        ? 'not integrated'
        : run.validation?.status === 'FAILED'
          ? 'validation failed'
          : 'agent failed';
  return { id: run.task_id, outcome: 'failed', note };
}
