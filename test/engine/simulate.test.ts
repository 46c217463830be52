import { describe, expect, it } from 'vitest';
import { simulateSchedule, type SimulatedTask } from '../../src/engine/schedule/simulate.js';

const H = 3_600_000;
const t = (
  id: string,
  group: string,
  hours: number,
  dependsOn: string[] = [],
  agents = [`A-${id}`],
): SimulatedTask => ({ id, group, durationMs: hours * H, dependsOn, agents });

describe('simulateSchedule', () => {
  it('lets a task start when its own dependency is done, not when the slowest of its group is', () => {
    // Group 1: a short task and a long one; group 2's task needs only the short one.
    const tasks = [t('1.1', '1', 1), t('1.2', '1', 6), t('2.1', '2', 3, ['1.1'])];
    const dag = simulateSchedule(tasks, { mode: 'dag', concurrency: null });
    const groups = simulateSchedule(tasks, { mode: 'groups', concurrency: null });
    expect(dag.makespanMs).toBe(6 * H);
    expect(dag.starts.get('2.1')).toBe(1 * H);
    expect(groups.makespanMs).toBe(9 * H);
    expect(groups.starts.get('2.1')).toBe(6 * H);
  });

  it('serialises an agent’s tasks and honours the concurrency cap', () => {
    const same = [t('a', '1', 2, [], ['B-1']), t('b', '1', 2, [], ['b-1'])];
    expect(simulateSchedule(same, { mode: 'dag', concurrency: null }).makespanMs).toBe(4 * H);
    const three = [t('a', '1', 1), t('b', '1', 1), t('c', '1', 1)];
    expect(simulateSchedule(three, { mode: 'dag', concurrency: 2 }).makespanMs).toBe(2 * H);
  });

  it('reports tasks that can never start', () => {
    const cycle = [t('a', '1', 1, ['b']), t('b', '1', 1, ['a'])];
    expect(() => simulateSchedule(cycle, { mode: 'dag', concurrency: null })).toThrow(/a, b/);
  });
});
