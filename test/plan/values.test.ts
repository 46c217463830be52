import { describe, expect, it } from 'vitest';
import { parseDependencyText, type DependencyScope } from '../../src/engine/plan/dependencies.js';
import { parseDuration } from '../../src/engine/plan/estimates.js';
import { parseStatus } from '../../src/engine/plan/status.js';

describe('parseDuration', () => {
  it.each([
    ['6h', 6],
    ['30min', 0.5],
    ['90min', 1.5],
    ['1.5h', 1.5],
    ['2d', 16], // a day is 8 working hours
    ['1w', 40],
    ['4 hours', 4],
    ['3 days', 24],
    ['1h 30min', 1.5],
    ['1h30m', 1.5],
    ['2-3 days', 24], // a range counts as its upper bound
    ['~75-90 minutes', 1.5],
    ['1,5 horas', 1.5],
    ['2天', 16],
  ])('%s = %d hours', (text, hours) => {
    expect(parseDuration(text)).toBe(hours);
  });

  it.each(['', 'soon', 'Days 3-5', '3 tools', 'Day 1 - 4 hours', '12'])(
    '%j is not an estimate',
    (text) => {
      expect(parseDuration(text)).toBeNull();
    },
  );
});

describe('parseStatus', () => {
  it.each([
    ['Not Started', 'pending'],
    ['Pending', 'pending'],
    ['ready', 'pending'],
    ['Pronto para Iniciar', 'pending'],
    ['In Progress', 'in_progress'],
    ['Em Progresso Contínuo', 'in_progress'],
    ['⏳', 'in_progress'],
    ['Blocked', 'blocked'],
    ['Aguardando Dependências', 'blocked'],
    ['Needs Review/Test', 'review'],
    ['Completed', 'completed'],
    ['✅ Completed', 'completed'],
    ['`done`', 'completed'],
    ['已完成', 'completed'],
    ['⚠️ 1h 41min (warnings)', 'completed'],
    ['❌', 'failed'],
    ['Failed', 'failed'],
    ['⏭️ Moved to Group 3', 'skipped'],
    ['—', 'pending'],
  ])('%j → %s', (text, status) => {
    expect(parseStatus(text)).toBe(status);
  });

  it('returns null for words it does not know', () => {
    expect(parseStatus('sideways')).toBeNull();
  });
});

describe('parseDependencyText', () => {
  const scope: DependencyScope = {
    ids: ['1.1', '1.2', '2.1', 'T1', 'T2', 'T3', 'T-03', 'T-04', 'T-05', 'TASK_001'],
    titles: new Map([
      ['1.1', 'Integration Testing'],
      ['1.2', 'Evaluation Harness'],
    ]),
    groups: [
      { id: '1', title: 'Parallel Workstreams' },
      { id: '2', title: 'Integration & Testing' },
    ],
    selfId: '2.1',
    selfGroup: '2',
  };
  const read = (text: string) => parseDependencyText(text, scope);

  it.each(['None', '—', '-', '', 'None (can start immediately)', 'N/A'])(
    '%j means no dependency',
    (text) => {
      expect(read(text)).toEqual({
        ids: [],
        groups: [],
        allPrevious: false,
        allPreviousGroups: false,
        unresolved: [],
        misspelled: [],
        unknownGroups: [],
        selfReference: false,
      });
    },
  );

  it('reads ids, lists and ranges, matching case-insensitively', () => {
    expect(read('T1, T3').ids).toEqual(['T1', 'T3']);
    expect(read('T1 and t3').ids).toEqual(['T1', 'T3']);
    expect(read('Task 1.1').ids).toEqual(['1.1']);
    expect(read('T1-T9').ids).toEqual(['T1', 'T2', 'T3']); // what exists of the range
    expect(read('T-03 – T-05').ids).toEqual(['T-03', 'T-04', 'T-05']);
    expect(read('TASK_001 (schema)').ids).toEqual(['TASK_001']);
  });

  it('keeps an unknown id so that validation can name it', () => {
    expect(read('T7').ids).toEqual(['T7']);
    expect(read('X1-X3').ids).toEqual(['X1', 'X3']);
  });

  it('reads group and "all" forms', () => {
    expect(read('Group 1 complete').groups).toEqual(['1']);
    expect(read('Group 1 complete, can overlap with Group 2').groups).toEqual(['1']);
    expect(read('Phase 2 complete').groups).toEqual(['2']);
    expect(read('All previous groups complete').allPreviousGroups).toBe(true);
    expect(read('All above').allPrevious).toBe(true);
    expect(read('all previous').allPrevious).toBe(true);
  });

  it('resolves "<title> complete" to the one task, else the one group, with that title', () => {
    expect(read('Integration complete').ids).toEqual(['1.1']);
    expect(read('Evaluation complete').ids).toEqual(['1.2']);
    expect(read('All parallel workstreams complete').groups).toEqual(['1']);
  });

  it('reports what it cannot read instead of guessing', () => {
    expect(read('Tools from other workstreams (can reference tool names)').unresolved).toEqual([
      'Tools from other workstreams',
    ]);
    expect(read('当前文档').unresolved).toEqual(['当前文档']);
    // A group that does not exist is its own finding, naming the groups that do.
    expect(read('Group 9 complete')).toMatchObject({ unresolved: [], unknownGroups: ['9'] });
  });

  it('never lists the task itself', () => {
    expect(read('2.1, 1.1').ids).toEqual(['1.1']);
  });
});
