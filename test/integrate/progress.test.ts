import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { integrate } from '../../src/engine/integrate/integrate.js';
import type { IntegrationProgress } from '../../src/engine/integrate/schema.js';
import { integrationProgressText } from '../../src/engine/monitor/integration-progress.js';
import { makeRepo, taskBranches, TEST_COMMAND, type RepoFixture } from './fixture.js';

let repo: RepoFixture;

beforeEach(async () => {
  repo = await makeRepo();
});
afterEach(() => repo.cleanup());

describe('integration progress', () => {
  it('tells each merge, each test run (k of at most n), the bisection and the conflicts', async () => {
    const candidates = await taskBranches(repo, 6, [4]);
    // Two more that change the same line: the second conflicts.
    await repo.branch('task/C1', { 'shared.txt': 'line 1\nC1\nline 3\n' });
    await repo.branch('task/C2', { 'shared.txt': 'line 1\nC2\nline 3\n' });
    candidates.push(
      { taskId: 'C1', agent: 'builder-c1', branch: 'task/C1', dependsOn: [] },
      { taskId: 'C2', agent: 'builder-c2', branch: 'task/C2', dependsOn: [] },
    );
    const seen: IntegrationProgress[] = [];
    const result = await integrate({
      repoRoot: repo.root,
      baseSha: repo.baseSha,
      branchName: 'integration/progress',
      workdir: join(repo.dir, 'work'),
      candidates,
      testCommand: TEST_COMMAND,
      strategy: 'batch-bisect',
      detectConflicts: false,
      env: repo.env,
      logDir: join(repo.dir, 'logs'),
      onProgress: (progress) => seen.push(progress),
    });

    expect(result.dropped.map((d) => d.taskId).sort()).toEqual(['C2', 'T4']);
    expect(seen[0]).toMatchObject({ phase: 'setup', total: 8, merged: 0, testRun: 0 });
    // Every branch is announced before its merge.
    const merging = seen.filter((p) => p.phase === 'merging').map((p) => p.taskId);
    for (const id of ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'C1', 'C2'])
      expect(merging).toContain(id);
    // The first run tests the whole chain; the failure starts a bisection.
    const runs = seen.filter((p) => p.phase === 'testing' || p.phase === 'bisecting');
    expect(runs[0]).toMatchObject({ phase: 'testing', testRun: 1, testRunsAtMost: 1 });
    expect(runs.some((p) => p.phase === 'bisecting')).toBe(true);
    expect(runs.map((p) => p.testRun)).toEqual(
      Array.from({ length: result.testRuns }, (_, i) => i + 1),
    );
    // The bound announced holds: no run goes past it.
    for (const p of runs) expect(p.testRun).toBeLessThanOrEqual(p.testRunsAtMost ?? Infinity);
    // Counts only grow where they must: conflicts and drops never go back.
    for (let i = 1; i < seen.length; i += 1) {
      expect(seen[i]!.conflicts).toBeGreaterThanOrEqual(seen[i - 1]!.conflicts);
      expect(seen[i]!.dropped).toBeGreaterThanOrEqual(seen[i - 1]!.dropped);
    }
    const last = seen.at(-1)!;
    expect(last).toMatchObject({
      phase: 'done',
      total: 8,
      merged: result.merged.length,
      conflicts: 1,
      dropped: 2,
      testRun: result.testRuns,
    });
    expect(integrationProgressText(last)).toBe(
      `done after ${result.testRuns} test runs · merged 6/8 · 1 conflict · 1 dropped`,
    );
    const bisecting = runs.find((p) => p.phase === 'bisecting')!;
    expect(integrationProgressText(bisecting)).toMatch(
      /^bisecting a test failure: test run \d+ of at most \d+ · merged \d\/8 · 1 conflict$/,
    );
  });
});
