import type { Task } from '../plan/schema.js';

/** Done work: not scheduled again, and what waits for it may start. */
function isSettled(task: Task): boolean {
  return task.status === 'completed' || task.status === 'skipped';
}

/**
 * The dependency graph in waves: every task of a wave can run at the same time, once the waves
 * before it are done. Completed and skipped tasks are not scheduled, and a dependency on them or
 * on a task outside `tasks` counts as met. Tasks caught in a cycle (see `findCycle` in plan/cycle.ts) and the ones
 * that wait for them appear in no wave.
 */
export function computeWaves(tasks: Task[]): string[][] {
  const pending = tasks.filter((task) => !isSettled(task));
  const waiting = new Set(pending.map((task) => task.id));
  const waves: string[][] = [];
  for (;;) {
    const ready = pending.filter(
      (task) => waiting.has(task.id) && task.dependsOn.every((dep) => !waiting.has(dep)),
    );
    if (ready.length === 0) return waves;
    const wave = [...new Set(ready.map((task) => task.id))];
    waves.push(wave);
    for (const id of wave) waiting.delete(id);
  }
}
