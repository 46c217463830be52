import type { Task } from './schema.js';

/**
 * One dependency cycle, as the ids along it (`['a', 'b', 'c']` for a → b → c → a; a task that
 * depends on itself gives `['a']`), or null. Only dependencies between the given tasks count.
 * Deterministic: tasks are visited in the order given.
 */
export function findCycle(tasks: Task[]): string[] | null {
  const byId = new Map<string, Task>();
  for (const task of tasks) if (!byId.has(task.id)) byId.set(task.id, task);
  const state = new Map<string, 'visiting' | 'done'>();
  for (const start of byId.keys()) {
    if (state.has(start)) continue;
    const cycle = walk(start, byId, state);
    if (cycle) return cycle;
  }
  return null;
}

/** Iterative depth-first search, so a long chain cannot overflow the stack. */
function walk(
  start: string,
  byId: ReadonlyMap<string, Task>,
  state: Map<string, 'visiting' | 'done'>,
): string[] | null {
  const path: string[] = [start];
  const next: number[] = [0];
  state.set(start, 'visiting');
  while (path.length > 0) {
    const id = path[path.length - 1]!;
    const deps = byId.get(id)!.dependsOn.filter((dep) => byId.has(dep));
    const index = next[next.length - 1]!;
    if (index >= deps.length) {
      state.set(id, 'done');
      path.pop();
      next.pop();
      continue;
    }
    next[next.length - 1] = index + 1;
    const dep = deps[index]!;
    const seen = state.get(dep);
    if (seen === 'visiting') return path.slice(path.indexOf(dep));
    if (seen === 'done') continue;
    state.set(dep, 'visiting');
    path.push(dep);
    next.push(0);
  }
  return null;
}
