import { describe, expect, it } from 'vitest';
import { matrixJson } from '../../src/action/select.js';
import { selectWave } from '../../src/engine/schedule/wave.js';
import { aPlan, aTask } from './plans.js';

describe('selectWave', () => {
  const plan = aPlan([
    aTask('1.1', { group: '1', status: 'completed' }),
    aTask('1.2', { group: '1' }),
    aTask('2.1', { group: '2', dependsOn: ['1.1'] }),
    aTask('2.2', { group: '2', dependsOn: ['1.1', '1.2'] }),
    aTask('2.3', { group: '2', status: 'in_progress' }),
  ]);

  it('picks the pending tasks whose dependencies are done', () => {
    const wave = selectWave(plan, null);
    expect(wave.ready.map((t) => t.id)).toEqual(['1.2', '2.1']);
    expect(wave.waiting.map((w) => [w.task.id, w.on])).toEqual([['2.2', ['1.2']]]);
    expect(wave.done.map((t) => t.id)).toEqual(['1.1']);
  });

  it('limits the wave to one group', () => {
    expect(selectWave(plan, '2').ready.map((t) => t.id)).toEqual(['2.1']);
  });

  it('names the groups when asked for one that does not exist', () => {
    expect(() => selectWave(plan, '9')).toThrow(/no group "9"/);
    try {
      selectWave(plan, '9');
    } catch (error) {
      expect((error as { hint: string }).hint).toBe('Groups in the plan: 1, 2.');
    }
  });

  it('takes an exact selection over the group: what is not done, ready ones first', () => {
    const wave = selectWave(plan, '1', ['2.2', '1.1', '2.1']);
    expect(wave.ready.map((t) => t.id)).toEqual(['2.1']);
    expect(wave.waiting.map((w) => [w.task.id, w.on])).toEqual([['2.2', ['1.2']]]);
    expect(wave.done.map((t) => t.id)).toEqual(['1.1']);
    expect(() => selectWave(plan, null, ['1.1', '9.9'])).toThrow(/the plan has no task 9.9/);
  });

  it('writes the matrix with task ids only', () => {
    expect(matrixJson(selectWave(plan, null).ready)).toBe(
      '{"include":[{"task":"1.2"},{"task":"2.1"}]}',
    );
  });
});
