/** Plans built in code, for action tests that do not exercise the parser. */
import type { Plan, Task } from '../../src/engine/plan/schema.js';

export function aTask(id: string, overrides: Partial<Task> = {}): Task {
  return {
    id,
    idGenerated: false,
    title: `Task ${id}`,
    agents: ['Builder-1'],
    group: null,
    dependsOn: [],
    estimateHours: 2,
    status: 'pending',
    priority: null,
    branch: null,
    worktree: null,
    files: [],
    criteria: [],
    details: '',
    dialect: 'seed',
    line: 1,
    column: 1,
    ...overrides,
  };
}

export function aPlan(tasks: Task[]): Plan {
  const groups = [...new Set(tasks.map((t) => t.group).filter((g): g is string => g !== null))];
  return {
    title: 'Test plan',
    groups: groups.map((id, i) => ({
      id,
      title: `Group ${id}`,
      dependsOn: [],
      dependenciesText: null,
      durationText: null,
      status: 'pending',
      line: i + 1,
    })),
    tasks,
  };
}
