import { describe, expect, it } from 'vitest';
import type { TaskRunStatus } from '../../src/engine/state/schema.js';
import {
  blockedTasks,
  occupiedAgents,
  readyTasks,
  type SchedulerTask,
} from '../../src/engine/schedule/scheduler.js';

const t = (
  id: string,
  status: TaskRunStatus,
  agents: string[],
  dependsOn: string[] = [],
): SchedulerTask => ({ id, status, agents, dependsOn });

describe('readyTasks', () => {
  it('starts a task when its dependencies are completed, not when its group is', () => {
    const tasks = [
      t('1.1', 'completed', ['A']),
      t('1.2', 'in_progress', ['B']),
      t('2.1', 'pending', ['C'], ['1.1']),
      t('2.2', 'pending', ['D'], ['1.2']),
    ];
    expect(readyTasks(tasks, { concurrency: null })).toEqual(['2.1']);
  });

  it('treats dependencies outside the execution as met', () => {
    expect(readyTasks([t('b', 'pending', ['A'], ['done-in-plan'])], { concurrency: null })).toEqual(
      ['b'],
    );
  });

  it('gives an agent one task at a time, case-insensitively, across several agents per task', () => {
    const tasks = [
      t('a', 'in_progress', ['Builder-1']),
      t('b', 'pending', ['builder-1']),
      t('c', 'pending', ['Builder-2', 'Builder-3']),
      t('d', 'pending', ['Builder-3']),
      t('e', 'pending', ['Builder-4']),
    ];
    expect(readyTasks(tasks, { concurrency: null })).toEqual(['c', 'e']);
  });

  it('lets `All` wait for every agent and hold them all', () => {
    const all = [t('a', 'pending', ['All']), t('b', 'pending', ['X']), t('c', 'pending', ['all'])];
    expect(readyTasks(all, { concurrency: null })).toEqual(['a']);
    const busy = [
      t('x', 'in_progress', ['X']),
      t('a', 'pending', ['All']),
      t('y', 'pending', ['Y']),
    ];
    expect(readyTasks(busy, { concurrency: null })).toEqual(['y']);
    expect([...occupiedAgents(['All'], ['x', 'y'])].sort()).toEqual(['all', 'x', 'y']);
  });

  it('frees an agent while its task is validated, still counting the task against the cap', () => {
    const tasks = [t('a', 'validating', ['A']), t('b', 'pending', ['A']), t('c', 'pending', ['C'])];
    expect(readyTasks(tasks, { concurrency: null })).toEqual(['b', 'c']);
    expect(readyTasks(tasks, { concurrency: 2 })).toEqual(['b']);
  });

  it('lets tasks without an agent run side by side', () => {
    expect(
      readyTasks([t('a', 'pending', []), t('b', 'pending', [])], { concurrency: null }),
    ).toEqual(['a', 'b']);
  });

  it('respects the concurrency cap, counting what runs', () => {
    const tasks = [t('a', 'preparing', ['A']), t('b', 'pending', ['B']), t('c', 'pending', ['C'])];
    expect(readyTasks(tasks, { concurrency: 2 })).toEqual(['b']);
    expect(readyTasks(tasks, { concurrency: 1 })).toEqual([]);
  });
});

describe('blockedTasks', () => {
  it('skips the whole chain behind a failure and nothing else', () => {
    const tasks = [
      t('a', 'failed', ['A']),
      t('b', 'pending', ['B'], ['a']),
      t('c', 'pending', ['C'], ['b']),
      t('d', 'pending', ['D'], ['x']),
      t('x', 'in_progress', ['X']),
    ];
    expect(blockedTasks(tasks)).toEqual([
      { id: 'b', reason: 'dependency a failed' },
      { id: 'c', reason: 'dependency b was skipped' },
    ]);
  });
});
