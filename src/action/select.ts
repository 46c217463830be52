import type { Task } from '../engine/plan/schema.js';

/** The `matrix` output: task ids only; each leg reads its task from the plan. */
export function matrixJson(tasks: readonly Task[]): string {
  return JSON.stringify({ include: tasks.map((t) => ({ task: t.id })) });
}
