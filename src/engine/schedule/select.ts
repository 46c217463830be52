import { UsageError } from '../errors.js';
import type { Plan, Task } from '../plan/schema.js';

export interface Selection {
  /** `all` or the group id as the plan writes it. */
  group: string;
  /** Tasks this execution runs, in plan order. */
  tasks: Task[];
  /** Tasks the plan marks completed; they are not re-run and count as met dependencies. */
  alreadyCompleted: Task[];
}

/**
 * Which tasks an execution runs: every not-completed task, or one group's. A group runs only
 * when what it depends on is complete — running it early would build on work that is not there.
 */
export function selectTasks(plan: Plan, group: string): Selection {
  const completed = plan.tasks.filter((task) => task.status === 'completed');
  const completedIds = new Set(completed.map((task) => task.id));
  if (group.toLowerCase() === 'all') {
    return {
      group: 'all',
      tasks: plan.tasks.filter((task) => !completedIds.has(task.id)),
      alreadyCompleted: completed,
    };
  }
  const wanted = plan.groups.find((g) => g.id.toLowerCase() === group.toLowerCase());
  if (wanted === undefined) {
    const known = plan.groups.map((g) => g.id).join(', ') || 'none';
    throw new UsageError(
      `the plan has no group "${group}"`,
      `Groups in this plan: ${known}. Pass one of them, or --group all.`,
    );
  }
  const inGroup = plan.tasks.filter((task) => task.group === wanted.id);
  const tasks = inGroup.filter((task) => !completedIds.has(task.id));
  const selected = new Set(tasks.map((task) => task.id));
  const missing = new Set<string>();
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      if (!selected.has(dep) && !completedIds.has(dep)) missing.add(dep);
    }
  }
  for (const groupId of wanted.dependsOn) {
    for (const task of plan.tasks) {
      if (task.group === groupId && !completedIds.has(task.id)) missing.add(task.id);
    }
  }
  if (missing.size > 0) {
    throw new UsageError(
      `group ${wanted.id} depends on tasks that are not completed: ${[...missing].join(', ')}`,
      'Run the groups it depends on first (or --group all to run everything in order).',
    );
  }
  return { group: wanted.id, tasks, alreadyCompleted: completed };
}
