import { readyTasks, type SchedulerTask } from './scheduler.js';

export interface SimulatedTask {
  id: string;
  dependsOn: readonly string[];
  agents: readonly string[];
  group: string | null;
  durationMs: number;
}

export interface SimulationOptions {
  concurrency: number | null;
  /**
   * `dag`: this scheduler (a task starts when its dependencies are done). `groups`: the seed's way,
   * each parallel group waits for the whole previous group, in the order the groups appear.
   */
  mode: 'dag' | 'groups';
}

export interface SimulationResult {
  makespanMs: number;
  /** Start time of each task. */
  starts: Map<string, number>;
}

/**
 * Replays a plan with known durations through the real scheduler (`readyTasks`), in virtual time:
 * how long the whole plan takes, scheduled by dependencies or group by group.
 */
export function simulateSchedule(
  tasks: readonly SimulatedTask[],
  options: SimulationOptions,
): SimulationResult {
  const known = new Set(tasks.map((task) => task.id));
  const dependsOn = new Map(
    tasks.map((task) => [task.id, task.dependsOn.filter((dep) => known.has(dep))]),
  );
  if (options.mode === 'groups') addGroupBarriers(tasks, dependsOn);
  const view: SchedulerTask[] = tasks.map((task) => ({
    id: task.id,
    status: 'pending',
    dependsOn: dependsOn.get(task.id)!,
    agents: task.agents,
  }));
  const byId = new Map(view.map((task) => [task.id, task]));
  const duration = new Map(tasks.map((task) => [task.id, task.durationMs]));
  const ends = new Map<string, number>();
  const starts = new Map<string, number>();
  let now = 0;
  for (;;) {
    for (const id of readyTasks(view, { concurrency: options.concurrency })) {
      byId.get(id)!.status = 'in_progress';
      starts.set(id, now);
      ends.set(id, now + duration.get(id)!);
    }
    if (ends.size === 0) break;
    now = Math.min(...ends.values());
    for (const [id, end] of [...ends]) {
      if (end > now) continue;
      ends.delete(id);
      byId.get(id)!.status = 'completed';
    }
  }
  const stranded = view.filter((task) => task.status === 'pending').map((task) => task.id);
  if (stranded.length > 0) {
    throw new Error(`tasks that can never start (a dependency cycle?): ${stranded.join(', ')}`);
  }
  return { makespanMs: now, starts };
}

/** Group k waits for every task of the groups before it (ungrouped tasks form one last group). */
function addGroupBarriers(
  tasks: readonly SimulatedTask[],
  dependsOn: Map<string, readonly string[]>,
): void {
  const order: string[] = [];
  for (const task of tasks) {
    const group = task.group ?? '\u0000none';
    if (!order.includes(group)) order.push(group);
  }
  if (order.includes('\u0000none')) order.push(order.splice(order.indexOf('\u0000none'), 1)[0]!);
  const earlier: string[] = [];
  for (const group of order) {
    const members = tasks.filter((task) => (task.group ?? '\u0000none') === group);
    for (const task of members) {
      dependsOn.set(task.id, [...new Set([...dependsOn.get(task.id)!, ...earlier])]);
    }
    earlier.push(...members.map((task) => task.id));
  }
}
