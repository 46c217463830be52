import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createStateWriter,
  readState,
  writeStateAtomic,
} from '../../src/engine/monitor/state-store.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { initialState } from '../../src/engine/run/layout.js';
import { claimExecutionId, executionIdFor, taskFileKeys } from '../../src/engine/run/paths.js';
import { parseDurationMs } from '../../src/engine/run/duration.js';
import { formatDuration } from '../../src/engine/format.js';
import { plan, scratch, task, type Scratch } from './helpers.js';

let box: Scratch;
beforeEach(async () => {
  box = await scratch();
});
afterEach(async () => {
  await box.cleanup();
});

function sampleState(): ExecutionState {
  const thePlan = plan([task('1.1'), task('1.2', { dependsOn: ['1.1'] })]);
  return initialState({
    executionId: 'exec_20250101_120000',
    plan: thePlan,
    planFile: 'MULTI_AGENT_PLAN.md',
    selection: { group: 'all', tasks: thePlan.tasks },
    layouts: thePlan.tasks.map((t, i) => ({
      taskId: t.id,
      branch: `agent/b/${i}`,
      worktree: `/w/${i}`,
      fileKey: `k${i}`,
      port: 41000,
    })),
    repoRoot: box.dir,
    baseRef: 'main',
    baseSha: 'a'.repeat(40),
    now: new Date('2025-01-01T12:00:00Z'),
    orchestratorPid: 1,
  });
}

describe('state file', () => {
  it('round-trips through an atomic write and leaves no temp file', async () => {
    const file = join(box.dir, 'PARALLEL_EXECUTION_STATUS.json');
    const state = sampleState();
    await writeStateAtomic(file, state);
    expect(await readState(file)).toEqual(state);
    expect(await readdir(box.dir)).toEqual(['PARALLEL_EXECUTION_STATUS.json']);
  });

  it('says what is wrong with a bad file', async () => {
    const file = join(box.dir, 'bad.json');
    await writeFile(file, '{"version": 1}');
    await expect(readState(file)).rejects.toThrow(
      /bad\.json: not a valid execution state at "execution_id"/,
    );
    await expect(readState(join(box.dir, 'missing.json'))).rejects.toThrow(/ENOENT/);
  });

  it('coalesces bursts of saves and always ends with the newest state', async () => {
    const file = join(box.dir, 'state.json');
    const writer = createStateWriter(file);
    const state = sampleState();
    const saves: Promise<void>[] = [];
    for (let i = 0; i <= 100; i += 1) {
      state.tasks['1.1']!.progress_percent = i;
      saves.push(writer.save(state));
    }
    await Promise.all(saves);
    await writer.flush();
    const saved = JSON.parse(await readFile(file, 'utf8')) as ExecutionState;
    expect(saved.tasks['1.1']!.progress_percent).toBe(100);
  });
  it('lets progress-only saves wait for company, writes any other change at once, and flush writes what waits', async () => {
    const file = join(box.dir, 'state.json');
    const writer = createStateWriter(file, 400);
    const state = sampleState();
    const onDisk = async () =>
      (JSON.parse(await readFile(file, 'utf8')) as ExecutionState).tasks['1.1']!;

    // Thirty progress reports in a row: nothing is written before the delay…
    let settled = 0;
    for (let i = 1; i <= 30; i += 1) {
      state.tasks['1.1']!.progress_percent = i;
      void writer.save(state, { soon: true }).then(() => (settled += 1));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
    // …then one write holds the newest of them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await onDisk()).progress_percent).toBe(30);
    expect(settled).toBe(30);

    // A status change does not wait, and takes the progress that waited with it.
    state.tasks['1.1']!.progress_percent = 31;
    void writer.save(state, { soon: true });
    state.tasks['1.1']!.status = 'collecting';
    await writer.save(state);
    expect(await onDisk()).toMatchObject({ status: 'collecting', progress_percent: 31 });

    // Progress saved just before the end is written by flush, without waiting for the delay.
    state.tasks['1.1']!.progress_percent = 32;
    void writer.save(state, { soon: true });
    const flushed = Date.now();
    await writer.flush();
    expect(Date.now() - flushed).toBeLessThan(400);
    expect((await onDisk()).progress_percent).toBe(32);
  });
});

describe('execution ids and file keys', () => {
  it('uses the seed’s exec_YYYYMMDD_HHMMSS and adds a suffix when taken', async () => {
    const date = new Date('2025-11-29T14:30:52Z');
    expect(executionIdFor(date)).toBe('exec_20251129_143052');
    await mkdir(join(box.dir, '.parallel-executor'), { recursive: true });
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push(await claimExecutionId(box.dir, date));
    expect(ids).toEqual([
      'exec_20251129_143052',
      'exec_20251129_143052_2',
      'exec_20251129_143052_3',
    ]);
    expect((await readdir(join(box.dir, '.parallel-executor', 'executions'))).sort()).toEqual(ids);
  });

  it('names task files safely and distinctly', () => {
    expect([...taskFileKeys(['1.1', '1-1', '../../etc', '日本']).values()]).toEqual([
      '1-1',
      '1-1-2',
      'etc',
      'task',
    ]);
  });
});

describe('durations', () => {
  it('parses 90s, 10m, 1h, 1h30m and refuses nonsense with the flag name', () => {
    expect(parseDurationMs('90s', '--task-timeout')).toBe(90_000);
    expect(parseDurationMs('10m', 'x')).toBe(600_000);
    expect(parseDurationMs('1h30m', 'x')).toBe(5_400_000);
    expect(parseDurationMs('250ms', 'x')).toBe(250);
    expect(() => parseDurationMs('10', '--idle-timeout')).toThrow(
      /--idle-timeout: "10" is not a duration/,
    );
    expect(() => parseDurationMs('5x', 'x')).toThrow(/not a duration/);
    expect(() => parseDurationMs('0s', 'x')).toThrow(/longer than zero/);
    expect(formatDuration(90_000)).toBe('1min 30s');
    expect(formatDuration(700)).toBe('700ms');
  });
});
