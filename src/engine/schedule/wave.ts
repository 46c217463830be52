/**
 * Which tasks this workflow run executes: matrix legs cannot wait for each other, so one run is one
 * wave — the pending tasks of the selection whose dependencies are all done.
 */
import { UsageError } from '../errors.js';
import type { Plan, Task } from '../plan/schema.js';

export interface Wave {
  ready: Task[];
  /** Pending tasks of the selection that wait for others, with what they wait for. */
  waiting: Array<{ task: Task; on: string[] }>;
  /** Tasks of the selection already completed or skipped. */
  done: Task[];
}

const FINISHED = new Set(['completed', 'skipped']);

/**
 * `tasks` (the exact selection the app sends for retries) wins over `group`: those tasks, finished
 * or not — except completed and skipped ones — whatever their group.
 */
export function selectWave(plan: Plan, group: string | null, tasks: string[] | null = null): Wave {
  if (tasks !== null) return exactWave(plan, tasks);
  const inScope = group === null ? plan.tasks : plan.tasks.filter((t) => t.group === group);
  if (group !== null && inScope.length === 0) {
    const known = [
      ...new Set(plan.tasks.map((t) => t.group).filter((g): g is string => g !== null)),
    ];
    throw new UsageError(
      `the plan has no group "${group}"`,
      known.length > 0
        ? `Groups in the plan: ${known.join(', ')}.`
        : 'The plan has no groups; leave `group` empty.',
    );
  }
  // Only pending tasks start: in-progress, failed or blocked ones wait for a retry that names them.
  return classify(plan, inScope, (task) => task.status === 'pending');
}

function exactWave(plan: Plan, ids: string[]): Wave {
  const known = new Set(plan.tasks.map((t) => t.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `the plan has no task ${unknown.join(', ')}`,
      `Tasks in the plan: ${[...known].slice(0, 30).join(', ')}.`,
    );
  }
  const wanted = new Set(ids);
  // Named tasks run again whatever their status (a retry), unless completed or skipped.
  return classify(
    plan,
    plan.tasks.filter((t) => wanted.has(t.id)),
    () => true,
  );
}

/**
 * Sorts `tasks` into done, ready and waiting. A dependency outside `tasks` that is not done yet
 * blocks a task as much as one inside.
 */
function classify(plan: Plan, tasks: Task[], mayStart: (task: Task) => boolean): Wave {
  const finished = new Set(plan.tasks.filter((t) => FINISHED.has(t.status)).map((t) => t.id));
  const wave: Wave = { ready: [], waiting: [], done: [] };
  for (const task of tasks) {
    if (FINISHED.has(task.status)) {
      wave.done.push(task);
      continue;
    }
    if (!mayStart(task)) continue;
    const on = task.dependsOn.filter((id) => !finished.has(id));
    if (on.length === 0) wave.ready.push(task);
    else wave.waiting.push({ task, on });
  }
  return wave;
}
