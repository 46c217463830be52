import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/engine/plan/schema.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import {
  LOCAL_SELECTION,
  nextGroup,
  nothingLeftHint,
  nothingToRun,
  selectTasks,
  WAVE_SELECTION,
  type SelectionRequest,
} from '../../src/engine/schedule/select.js';
import { plan, task } from './helpers.js';

const ids = (tasks: readonly Task[]) => tasks.map((t) => t.id);
const wave = (p: ReturnType<typeof plan>, request: SelectionRequest) =>
  selectTasks(p, request, WAVE_SELECTION);

describe('selectTasks: what runs', () => {
  const thePlan = () =>
    plan([
      task('1.1', { group: 'G1', status: 'completed' }),
      task('1.2', { group: 'G1', status: 'failed' }),
      task('1.3', { group: 'G1', status: 'skipped', dependsOn: ['1.2'] }),
      task('1.4', { group: 'G1' }),
      task('1.5', { group: 'G1', status: 'in_progress' }),
      task('2.1', { group: 'G2', dependsOn: ['1.1'] }),
      task('2.2', { group: 'G2', dependsOn: ['1.3'] }),
      task('2.3', { group: 'G2', dependsOn: ['2.1'] }),
    ]);

  it('runs the pending tasks; failed, skipped and in-progress ones wait to be named', () => {
    const s = wave(thePlan(), { group: 'all' });
    expect(ids(s.tasks)).toEqual(['1.4', '2.1', '2.3']);
    expect(ids(s.ready)).toEqual(['1.4', '2.1']);
    expect(s.waiting.map((w) => [w.task.id, w.on])).toEqual([['2.3', ['2.1']]]);
    expect(s.left.map((l) => [l.task.id, l.reason])).toEqual([
      ['1.1', 'is completed'],
      ['1.2', 'failed (retry it by name to run it again)'],
      ['1.3', 'is skipped in the plan (name it to run it anyway)'],
      ['1.5', 'is in progress in the plan (name it to run it anyway)'],
      ['2.2', 'waits for 1.3 (skipped), not completed and not in this run'],
    ]);
    expect(s.left.find((l) => l.task.id === '2.2')?.waitsFor).toEqual(['1.3']);
  });

  it('finds a group whatever the case, and lists the groups when there is none', () => {
    expect(wave(thePlan(), { group: 'g2' }).group).toBe('G2');
    expect(ids(wave(thePlan(), { group: 'g2' }).tasks)).toEqual(['2.1', '2.3']);
    expect(wave(thePlan(), { group: 'ALL' }).group).toBe('all');
    expect(wave(thePlan(), { group: null }).group).toBe('all');
    expect(() => wave(thePlan(), { group: 'G9' })).toThrow(
      expect.objectContaining({
        message: 'the plan has no group "G9"',
        hint: 'Groups in this plan: G1, G2. Pass one of them, or all.',
      }),
    );
  });

  it('runs a named failed task again, with what its failure skipped', () => {
    const s = wave(thePlan(), { group: 'G2', tasks: ['1.2'] });
    expect(ids(s.tasks)).toEqual(['1.2', '1.3']); // 2.2 is pending: the next run takes it
    expect(ids(s.ready)).toEqual(['1.2']);
    expect(s.group).toBe('G1');
    // After the retry's first wave the plan marks 1.2 completed: the same request goes on.
    const after = thePlan();
    after.tasks[1]!.status = 'completed';
    expect(ids(wave(after, { group: null, tasks: ['1.2'] }).ready)).toEqual(['1.3']);
  });

  it('never runs a completed task again, even named, and says how to redo it', () => {
    const s = wave(thePlan(), { group: null, tasks: ['1.1'] });
    expect(s.tasks).toEqual([]);
    expect(nothingToRun(s)).toBe(
      'nothing of group G1 can run: 1.1 is completed in the plan (set its status back to pending there to run it again, and take ✅ COMPLETED off its group heading if there)',
    );
    expect(() => wave(thePlan(), { group: null, tasks: ['1.1', '9.9'] })).toThrow(
      /the plan has no task 9\.9/,
    );
  });

  it('holds back what depends on work outside the selection, transitively', () => {
    const p = plan([
      task('1.1', { group: '1' }),
      task('2.1', { group: '2', dependsOn: ['1.1'] }),
      task('2.2', { group: '2', dependsOn: ['2.1'] }),
    ]);
    const s = wave(p, { group: '2' });
    expect(s.tasks).toEqual([]);
    expect(nothingToRun(s)).toBe(
      'nothing of group 2 can run: 2.1 waits for 1.1 (pending), not completed and not in this run; 2.2 waits for 2.1 (pending), not completed and not in this run',
    );
    // A group's own dependencies count as the tasks' (plans built without the parser).
    const byGroup = plan([task('1.1', { group: '1' }), task('2.1', { group: '2' })]);
    byGroup.groups[1]!.dependsOn = ['1'];
    expect(wave(byGroup, { group: '2' }).left[0]?.waitsFor).toEqual(['1.1']);
  });
});

describe('selectTasks: one task per agent', () => {
  const shared = plan([
    task('1.1', { agents: ['Builder-1'] }),
    task('1.2', { agents: ['builder-1'] }),
    task('1.3', { agents: ['Builder-2'] }),
  ]);

  it('starts one task per agent locally; a wave runs them all, each leg on its own runner', () => {
    const local = selectTasks(shared, { group: 'all' }, LOCAL_SELECTION);
    expect(ids(local.ready)).toEqual(['1.1', '1.3']);
    expect(local.waiting.map((w) => [w.task.id, w.on])).toEqual([['1.2', ['1.1']]]);
    expect(ids(selectTasks(shared, { group: 'all' }, WAVE_SELECTION).ready)).toEqual([
      '1.1',
      '1.2',
      '1.3',
    ]);
  });
});

describe('nextGroup', () => {
  it('is the first group with work, never one ahead of a group that waits', () => {
    const p = plan([
      task('1.1', { group: 'A', status: 'completed' }),
      task('2.1', { group: 'B', status: 'skipped' }),
      task('3.1', { group: 'C', dependsOn: ['1.1'] }),
    ]);
    expect(nextGroup(p)).toBe('C');
    p.tasks[2]!.dependsOn = ['2.1'];
    expect(nextGroup(p)).toBeNull();
    p.tasks[2]!.status = 'completed';
    expect(nextGroup(p)).toBeNull();
  });
});

describe('the hint when every task is completed', () => {
  // On a real project: after a run wrote "## Parallel Group 5: Slow ✅ COMPLETED", the user unticked
  // 5.1 as the hint said ("an unticked - [ ], no ✅") and got the same refusal and the same hint:
  // the heading's COMPLETED still made the open task completed.
  it('names the group heading, and following it runs the task', () => {
    const done =
      '## Parallel Group 5: Slow ✅ COMPLETED\n\n- [ ] 5.1: Slow work (Builder-1, 30min)\n';
    const before = selectTasks(parsePlan(done).plan, { group: 'all' }, LOCAL_SELECTION);
    expect(ids(before.tasks)).toEqual([]);
    expect(nothingLeftHint(before)).toContain(
      'under a group heading without ✅ COMPLETED, which makes every open task under it completed',
    );
    const followed = done.replace(' ✅ COMPLETED', '');
    const after = selectTasks(parsePlan(followed).plan, { group: 'all' }, LOCAL_SELECTION);
    expect(ids(after.tasks)).toEqual(['5.1']);
  });
});
