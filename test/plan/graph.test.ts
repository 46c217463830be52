import { describe, expect, it } from 'vitest';
import type { Task, TaskStatus } from '../../src/engine/plan/schema.js';
import { findCycle } from '../../src/engine/plan/cycle.js';
import { computeWaves } from '../../src/engine/schedule/graph.js';
import { task as aTask } from '../engine/helpers.js';

function task(id: string, dependsOn: string[] = [], status: TaskStatus = 'pending'): Task {
  return aTask(id, {
    title: id,
    agents: ['B-1'],
    group: null,
    dependsOn,
    estimateHours: null,
    status,
  });
}

describe('computeWaves', () => {
  it('layers the graph: each wave waits only for earlier waves', () => {
    const tasks = [
      task('a'),
      task('b'),
      task('c', ['a']),
      task('d', ['a', 'b']),
      task('e', ['c', 'd']),
    ];
    expect(computeWaves(tasks)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('does not schedule done work; a dependency on it, or outside the list, is met', () => {
    const tasks = [
      task('a', [], 'completed'),
      task('b', [], 'skipped'),
      task('c', ['a', 'b']),
      task('d', ['elsewhere']),
      task('e', ['c']),
    ];
    expect(computeWaves(tasks)).toEqual([['c', 'd'], ['e']]);
  });

  it('leaves tasks in a cycle, and what waits for them, out of every wave', () => {
    const tasks = [
      task('a'),
      task('b', ['c']),
      task('c', ['b']),
      task('d', ['b']),
      task('e', ['a']),
    ];
    expect(computeWaves(tasks)).toEqual([['a'], ['e']]);
  });

  it('handles 5,000 tasks in a chain', () => {
    const tasks = Array.from({ length: 5000 }, (_, index) =>
      task(`t${index}`, index ? [`t${index - 1}`] : []),
    );
    expect(computeWaves(tasks)).toHaveLength(5000);
    expect(findCycle(tasks)).toBeNull();
  });
});

describe('findCycle', () => {
  it('returns null for a DAG', () => {
    expect(findCycle([task('a'), task('b', ['a']), task('c', ['a', 'b'])])).toBeNull();
  });

  it('returns the ids along the cycle, deterministically', () => {
    const tasks = [task('a', ['b']), task('b', ['c']), task('c', ['a']), task('d', ['a'])];
    expect(findCycle(tasks)).toEqual(['a', 'b', 'c']);
    expect(findCycle([task('x', ['x'])])).toEqual(['x']);
  });

  it('finds a cycle reached through a longer path', () => {
    const tasks = [task('a', ['b']), task('b', ['c']), task('c', ['d']), task('d', ['b'])];
    expect(findCycle(tasks)).toEqual(['b', 'c', 'd']);
  });

  it('ignores dependencies outside the given tasks', () => {
    expect(findCycle([task('a', ['zzz'])])).toBeNull();
  });
});
