/** Plans built in code, for action tests that do not exercise the parser. */
import type { Plan, Task } from '../../src/engine/plan/schema.js';
import { plan, task } from '../engine/helpers.js';

/** The engine tests' task with the action tests' defaults: one builder, no group, 2 h. */
export function aTask(id: string, overrides: Partial<Task> = {}): Task {
  return task(id, { agents: ['Builder-1'], group: null, estimateHours: 2, ...overrides });
}

export function aPlan(tasks: Task[]): Plan {
  return plan(tasks);
}
