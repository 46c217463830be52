import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/app/coalescer.js';
import { DeliveryCache } from '../../src/app/delivery-cache.js';
import { hiddenData, readHiddenData } from '../../src/app/execution/hidden-data.js';
import {
  isExecutionId,
  newExecutionId,
  parseExternalId,
  taskExternalId,
} from '../../src/app/execution/id.js';
import { taskIdFromJobName } from '../../src/app/execution/names.js';
import { branchMatches } from '../../src/app/handlers/push.js';
import { KeyedMutex } from '../../src/app/keyed-mutex.js';
import { readZipEntries, ZipError } from '../../src/app/github/unzip.js';
import { ExecutionRecord } from '../../src/app/execution/record.js';
import { combineWaves } from '../../src/app/execution/combine.js';
import { pickWave, waveCount, waveCorrelationId } from '../../src/app/execution/waves.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { executionState, zipFiles } from './support/artifacts.js';
import { VALID_PLAN } from './support/plans.js';
import { virtualTime } from './support/virtual-time.js';

describe('DeliveryCache', () => {
  it('sees an id once, forgets the oldest beyond its capacity, and can forget on request', () => {
    const cache = new DeliveryCache(2);
    expect(cache.firstSight('a')).toBe(true);
    expect(cache.firstSight('b')).toBe(true);
    expect(cache.firstSight('a')).toBe(false);
    expect(cache.firstSight('c')).toBe(true);
    expect(cache.size).toBe(2);
    // `a` was refreshed by its repeat, so `b` was the oldest and went.
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    cache.forget('a');
    expect(cache.firstSight('a')).toBe(true);
  });
});

describe('KeyedMutex', () => {
  it('runs work of one key one at a time and other keys alongside', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const first = mutex.run('pr#1', async () => {
      order.push('a-start');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('a-end');
    });
    const second = mutex.run('pr#1', async () => void order.push('b'));
    const other = mutex.run('pr#2', async () => void order.push('other'));
    await other;
    expect(order).toEqual(['a-start', 'other']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['a-start', 'other', 'a-end', 'b']);
  });
});

describe('Coalescer', () => {
  it('turns a burst into one write, spaces writes of a key, and drains on demand', async () => {
    const time = virtualTime();
    const writes: Array<{ value: number; at: number }> = [];
    const coalescer = new Coalescer({
      delayMs: 1000,
      minIntervalMs: 5000,
      timers: time.timers,
      clock: time.clock,
    });
    for (let i = 1; i <= 5; i++)
      coalescer.schedule('e1', async () => void writes.push({ value: i, at: time.now() }));
    expect(writes).toEqual([]);
    await time.advance(999);
    expect(writes).toEqual([]);
    await time.advance(1);
    expect(writes.map((w) => w.value)).toEqual([5]);

    coalescer.schedule('e1', async () => void writes.push({ value: 6, at: time.now() }));
    await time.advanceTo(writes[0]!.at + 4999);
    expect(writes).toHaveLength(1);
    await time.advanceTo(writes[0]!.at + 5000);
    expect(writes.map((w) => w.value)).toEqual([5, 6]);
    expect(writes[1]!.at - writes[0]!.at).toBe(5000);

    coalescer.schedule('e2', async () => void writes.push({ value: 7, at: time.now() }));
    coalescer.schedule('e3', async () => void writes.push({ value: 8, at: time.now() }));
    coalescer.discard('e3');
    await coalescer.drain();
    expect(writes.map((w) => w.value)).toEqual([5, 6, 7]);
    expect(coalescer.pending()).toEqual([]);
    expect(coalescer.writes).toBe(3);
  });

  it('keeps going after a failed write and reports it', async () => {
    const time = virtualTime();
    const errors: string[] = [];
    const coalescer = new Coalescer({
      delayMs: 10,
      minIntervalMs: 0,
      timers: time.timers,
      clock: time.clock,
      onError: (key) => void errors.push(key),
    });
    coalescer.schedule('x', async () => {
      throw new Error('boom');
    });
    await time.advance(10);
    let wrote = false;
    coalescer.schedule('x', async () => void (wrote = true));
    await coalescer.drain();
    expect(errors).toEqual(['x']);
    expect(wrote).toBe(true);
  });
});

describe('ids, markers and names', () => {
  it('makes safe execution ids and splits external ids', () => {
    const id = newExecutionId({ pr: 42 }, new Date('2026-11-05T10:30:05.123Z'), () => 0.5);
    expect(id).toBe('pr42-20261105-103005-8000');
    expect(isExecutionId(id)).toBe(true);
    expect(newExecutionId({ pr: null }, new Date('2026-11-05T10:30:05Z'), () => 0)).toBe(
      'push-20261105-103005-0000',
    );
    expect(parseExternalId(taskExternalId(id, 'T:1'))).toEqual({ executionId: id, taskId: 'T:1' });
    expect(parseExternalId(id)).toEqual({ executionId: id, taskId: null });
    expect(parseExternalId('Not An Id:1')).toBeNull();
    expect(parseExternalId(null)).toBeNull();
  });

  it('hides JSON that cannot end its comment early, and refuses what does not match the schema', () => {
    const record = { v: 1, execution: 'x', evil: '--> <script>' };
    const text = `before ${hiddenData('record', record)} after`;
    expect(text).not.toContain('--> <script>');
    expect(text.match(/-->/g)).toHaveLength(1);
    expect(readHiddenData(text, 'record', ExecutionRecord)).toBeNull();
    expect(
      readHiddenData('<!-- parallel-executor:record !!! -->', 'record', ExecutionRecord),
    ).toBeNull();
  });

  it('reads task ids from matrix job names', () => {
    expect(taskIdFromJobName('agent (1.1)')).toBe('1.1');
    expect(taskIdFromJobName('run / agent (T-003)')).toBe('T-003');
    expect(taskIdFromJobName('agent (2.4, ubuntu-latest)')).toBe('2.4');
    expect(taskIdFromJobName('plan')).toBeNull();
    expect(taskIdFromJobName('build (1.1)')).toBeNull();
    expect(taskIdFromJobName('repair 1.2')).toBeNull();
    expect(taskIdFromJobName('integrate repairs', 'repair')).toBeNull();
    expect(taskIdFromJobName('run / repair 1.2', 'repair')).toBe('1.2');
    expect(taskIdFromJobName('repair (1.2)', 'repair')).toBe('1.2');
  });

  it('matches branch patterns', () => {
    expect(branchMatches('main', 'main')).toBe(true);
    expect(branchMatches('release/*', 'release/1.0')).toBe(true);
    expect(branchMatches('release/*', 'release/1.0/hotfix')).toBe(false);
    expect(branchMatches('feature/**', 'feature/a/b')).toBe(true);
    expect(branchMatches('main', 'main2')).toBe(false);
    expect(branchMatches('v1.0', 'v1x0')).toBe(false);
  });
});

describe('readZipEntries', () => {
  it('reads stored and deflated entries written by the zip tool', () => {
    const big = 'line of text\n'.repeat(2000);
    const zip = zipFiles({ 'state.json': '{"a":1}', 'big.txt': big });
    const files = readZipEntries(zip);
    expect(files.get('state.json')?.toString()).toBe('{"a":1}');
    expect(files.get('big.txt')?.toString()).toBe(big);
    // `zip` deflates the repetitive file: the archive is much smaller than its content.
    expect(zip.length).toBeLessThan(big.length / 10);
  });

  it('refuses damaged archives and oversized content', () => {
    const zip = zipFiles({ 'a.txt': 'hello hello hello hello' });
    expect(() => readZipEntries(Buffer.from('not a zip at all, not even close'))).toThrow(ZipError);
    const corrupt = Buffer.from(zip);
    corrupt[40] = corrupt[40]! ^ 0xff;
    expect(() => readZipEntries(corrupt)).toThrow();
    expect(() => readZipEntries(zip, { maxBytes: 5 })).toThrow(/more than 5 bytes/);
  });
});

describe('waves', () => {
  const plan = parsePlan(VALID_PLAN).plan;
  const record = ExecutionRecord.parse({
    v: 1,
    execution: 'pr7-20261105-100000-abcd',
    pr: 7,
    ref: 'feature/plan',
    sha: 'a'.repeat(40),
    group: 'all',
    plan: 'MULTI_AGENT_PLAN.md',
    planTitle: 'Widgets',
    workflow: 'parallel-run.yml',
    run: 9001,
    runUrl: null,
    comment: 1,
    startedAt: '2026-11-05T10:00:00Z',
    startedBy: 'alice',
    tasks: plan.tasks.map((t) => ({
      id: t.id,
      title: t.title,
      agent: t.agents[0] ?? 'agent',
      agents: t.agents,
      group: t.group,
      dependsOn: t.dependsOn,
      estimateHours: t.estimateHours,
    })),
  });

  it('reads records written before waves as one wave of every task', () => {
    expect(record).toMatchObject({ wave: 1, waveTasks: null, pastRuns: [], waveStartedAt: null });
    expect(waveCount(record)).toBe(2);
    expect(waveCount({ ...record, tasks: record.tasks.slice(0, 2) })).toBe(1);
    expect(waveCount({ ...record, wave: 3 })).toBe(3);
  });

  it('picks what the plan job picks, and gives each later wave its own correlation id', () => {
    expect(pickWave(plan, ['1.1', '1.2', '2.1'])).toEqual({
      ready: ['1.1', '1.2'],
      waiting: [{ id: '2.1', on: ['1.1', '1.2'] }],
      done: [],
      missing: [],
    });
    expect(pickWave(plan, ['2.1', '9.9']).missing).toEqual(['9.9']);
    expect(waveCorrelationId(record)).toBe(record.execution);
    expect(waveCorrelationId({ ...record, wave: 2 })).toBe(`${record.execution}-w2`);
  });

  it('combines the waves’ states: every task, the merges and conflicts of all', () => {
    const one = executionState(record, { '1.1': 'merged', '1.2': 'conflict' }, ['1.1', '1.2']);
    // The fixture also lists a task that did not run in that wave as pending: it must not win.
    const two = executionState(record, { '1.2': 'not-run', '2.1': 'merged' }, ['1.2', '2.1']);
    const combined = combineWaves([one, two])!;
    expect(combined.task_order).toEqual(['1.1', '1.2', '2.1']);
    expect(combined.tasks['1.2']!.status).toBe('completed');
    expect(combined.integration).toMatchObject({
      merged: ['1.1', '2.1'],
      conflicts: [expect.objectContaining({ taskId: '1.2' })],
      testRuns: 4,
    });
    expect(combineWaves([one])).toBe(one);
    expect(combineWaves([])).toBeNull();
  });
});
