import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IntegrationCandidate } from '../../src/engine/integrate/candidates.js';
import { integrate, type IntegrateOptions } from '../../src/engine/integrate/integrate.js';
import { IntegrationResult } from '../../src/engine/integrate/schema.js';
import { PreflightError } from '../../src/engine/errors.js';
import { dirtyUserCheckout, expectWholeBranch, userCheckout } from './checks.js';
import { makeRepo, taskBranches, TEST_COMMAND, type RepoFixture } from './fixture.js';

let repo: RepoFixture;
let runs = 0;

beforeEach(async () => {
  repo = await makeRepo();
  await dirtyUserCheckout(repo);
});
afterEach(() => repo.cleanup());

function options(
  candidates: readonly IntegrationCandidate[],
  overrides: Partial<IntegrateOptions> = {},
): IntegrateOptions {
  const id = `run-${++runs}`;
  return {
    repoRoot: repo.root,
    baseSha: repo.baseSha,
    branchName: `integration/${id}`,
    workdir: join(repo.dir, 'work'),
    candidates,
    testCommand: TEST_COMMAND,
    strategy: 'batch-bisect',
    detectConflicts: true,
    env: repo.env,
    logDir: join(repo.dir, 'logs', id),
    ...overrides,
  };
}

function agentsOf(candidates: readonly IntegrationCandidate[]): Record<string, string> {
  return Object.fromEntries(candidates.map((candidate) => [candidate.taskId, candidate.agent]));
}

describe('integrate, batch-bisect', () => {
  it('merges eight green branches with exactly one test run, leaving the user checkout alone', async () => {
    const candidates = await taskBranches(repo, 8);
    const before = await userCheckout(repo);
    const result = await integrate(options(candidates));

    expect(IntegrationResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({
      strategy: 'batch-bisect',
      merged: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8'],
      conflicts: [],
      dropped: [],
      predictedConflicts: [],
      testRuns: 1,
      testsPassed: true,
      notes: [],
    });
    await expectWholeBranch(repo, result, agentsOf(candidates));
    expect(await userCheckout(repo)).toEqual(before);
    const logs = await readdir(join(repo.dir, 'logs', `run-${runs}`));
    expect(logs.sort()).toEqual(['integration-test-01.txt', 'integration-test-runs.json']);
    expect(
      await readFile(join(repo.dir, 'logs', `run-${runs}`, 'integration-test-01.txt'), 'utf8'),
    ).toBe('ok\n');
  });

  it('finds one breaking branch among 8 in at most 7 runs, wherever it is; in 2 when the output names its file', async () => {
    const before = await userCheckout(repo);
    const counts: Record<'plain' | 'first', number[]> = { plain: [], first: [] };
    const clean = await taskBranches(repo, 8);
    for (let culprit = 1; culprit <= 8; culprit++) {
      // The same clean branches each round, one replaced by a breaking version of itself.
      const broken = `culprit/T${culprit}`;
      await repo.branch(broken, { [`src/T${culprit}.txt`]: 'BROKEN\n' });
      const candidates = clean.map((candidate, index) =>
        index + 1 === culprit ? { ...candidate, branch: broken } : candidate,
      );
      for (const way of ['plain', 'first'] as const) {
        const result = await integrate(
          options(candidates, { detectConflicts: false, culpritFirst: way === 'first' }),
        );
        const id = `T${culprit}`;
        expect(result.dropped.map((entry) => entry.taskId)).toEqual([id]);
        expect(result.merged).toEqual(candidates.map((c) => c.taskId).filter((t) => t !== id));
        expect(result.testsPassed).toBe(true);
        const tree = await repo.git(['ls-tree', '-r', '--name-only', result.branch, 'src/']);
        expect(tree).not.toContain(`${id}.txt`);
        await expectWholeBranch(repo, result, agentsOf(candidates));
        counts[way].push(result.testRuns);
      }
    }
    // 1 (all) + 3 (bisect) + 1 (retest), minus the retest when the culprit is last (a prefix
    // already known good), plus a base check when it is first.
    expect(counts.plain).toEqual([6, 5, 5, 5, 5, 5, 5, 4]);
    // The failing output says `broken: src/T<n>.txt`: all but that task, then nothing to retest.
    expect(counts.first).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(await userCheckout(repo)).toEqual(before);
  });

  it('tests a named suspect first; an innocent one costs one run and blames nobody wrongly', async () => {
    const candidates = await taskBranches(repo, 8, [5]);
    const silent = `${TEST_COMMAND} >/dev/null 2>&1`;
    const plain = await integrate(
      options(candidates, { testCommand: silent, culpritFirst: false, detectConflicts: false }),
    );
    const right = await integrate(
      options(candidates, { testCommand: silent, suspects: ['T5'], detectConflicts: false }),
    );
    const wrong = await integrate(
      options(candidates, { testCommand: silent, suspects: ['T2'], detectConflicts: false }),
    );
    for (const result of [plain, right, wrong]) {
      expect(result.dropped.map((entry) => entry.taskId)).toEqual(['T5']);
      expect([...result.merged].sort()).toEqual(['T1', 'T2', 'T3', 'T4', 'T6', 'T7', 'T8']);
      expect(result.testsPassed).toBe(true);
      await expectWholeBranch(repo, result, agentsOf(candidates));
    }
    expect(right.testRuns).toBe(2);
    expect(wrong.testRuns).toBe(plain.testRuns + 1);
    // The innocent suspect was merged last; the culprit is blamed on top of all the others.
    expect(wrong.merged.at(-1)).toBe('T2');
  });

  it('drops two culprits and keeps the rest', async () => {
    const candidates = await taskBranches(repo, 8, [3, 6]);
    const result = await integrate(options(candidates, { culpritFirst: false }));
    expect(result.dropped.map((entry) => entry.taskId)).toEqual(['T3', 'T6']);
    expect(result.dropped[0]!.reason).toMatch(
      /^integration tests fail once it is merged on top of tasks T1, T2, and pass without it \(test run \d+: .*integration-test-\d+\.txt\)$/,
    );
    expect(result.merged).toEqual(['T1', 'T2', 'T4', 'T5', 'T7', 'T8']);
    expect(result.testsPassed).toBe(true);
    expect(result.testRuns).toBeLessThan(10);
    await expectWholeBranch(repo, result, agentsOf(candidates));
    // Culprit first: the output names both files; they go last and are found in 4 runs.
    const first = await integrate(options(candidates));
    expect(first.dropped.map((entry) => entry.taskId)).toEqual(['T3', 'T6']);
    expect(first.merged).toEqual(['T1', 'T2', 'T4', 'T5', 'T7', 'T8']);
    expect(first.testsPassed).toBe(true);
    expect(first.testRuns).toBe(4);
    await expectWholeBranch(repo, first, agentsOf(candidates));
  });

  it('settles branches that fail only together by dropping the later one', async () => {
    const candidates = await taskBranches(repo, 6);
    await repo.branch('task/PA', { 'src/PA.txt': 'a\n', 'src/pair-a.txt': 'a\n' });
    await repo.branch('task/PB', { 'src/PB.txt': 'b\n', 'src/pair-b.txt': 'b\n' });
    const all = [
      candidates[0]!,
      { taskId: 'PA', agent: 'builder-a', branch: 'task/PA', dependsOn: [] },
      ...candidates.slice(1, 4),
      { taskId: 'PB', agent: 'builder-b', branch: 'task/PB', dependsOn: [] },
      ...candidates.slice(4),
    ];
    const result = await integrate(options(all, { culpritFirst: false }));
    expect(result.dropped).toEqual([
      {
        taskId: 'PB',
        reason: expect.stringContaining('on top of tasks T1, PA, T2, T3, T4, and pass without it'),
        // The failing run's output, for a repair to show its agent.
        testOutput: expect.stringMatching(/integration-test-03\.txt$/),
      },
    ]);
    expect(result.merged).toContain('PA');
    expect(result.testsPassed).toBe(true);
  });

  it('drops the branches built on a culprit', async () => {
    const candidates = await taskBranches(repo, 4, [2]);
    await repo.branch('task/T5', { 'src/T5.txt': 'on top of T2\n' }, 'task/T2');
    await repo.branch('task/T6', { 'src/T6.txt': 'on top of T5\n' }, 'task/T5');
    const all = [
      ...candidates,
      { taskId: 'T5', agent: 'builder-5', branch: 'task/T5', dependsOn: ['T2'] },
      { taskId: 'T6', agent: 'builder-6', branch: 'task/T6', dependsOn: ['T5'] },
    ];
    const result = await integrate(options(all));
    expect(result.dropped.map((entry) => [entry.taskId, entry.reason.slice(0, 41)])).toEqual([
      ['T2', 'integration tests fail once it is merged '],
      ['T5', 'depends on task T2, which was dropped (in'],
      ['T6', 'depends on task T2, which was dropped (in'],
    ]);
    expect(result.merged).toEqual(['T1', 'T3', 'T4']);
    expect(result.testsPassed).toBe(true);
    await expectWholeBranch(repo, result, agentsOf(all));
  });

  it("a task branch's .gitattributes naming git's union merge does not hide its conflict with another (the Action's integrate job has no run guard)", async () => {
    await repo.branch('task/X1', {
      '.gitattributes': 'shared.txt merge=union\n',
      'shared.txt': 'line 1\nX1 was here\nline 3\n',
    });
    await repo.branch('task/X2', { 'shared.txt': 'line 1\nX2 was here\nline 3\n' });
    const result = await integrate(
      options(
        [
          { taskId: 'X1', agent: 'builder-x1', branch: 'task/X1', dependsOn: [] },
          { taskId: 'X2', agent: 'builder-x2', branch: 'task/X2', dependsOn: [] },
        ],
        { detectConflicts: false },
      ),
    );
    expect(result.conflicts).toEqual([{ taskId: 'X2', files: ['shared.txt'], with: ['X1'] }]);
    expect(result.merged).toEqual(['X1']);
  });

  it('reports a textual conflict with its files and the branch it collided with, merges the rest', async () => {
    const candidates = await taskBranches(repo, 6);
    await repo.branch('task/X1', {
      'src/X1.txt': 'x1\n',
      'shared.txt': 'line 1\nX1 was here\nline 3\n',
    });
    await repo.branch('task/X2', {
      'src/X2.txt': 'x2\n',
      'shared.txt': 'line 1\nX2 was here\nline 3\n',
    });
    await repo.branch('task/X3', { 'src/X3.txt': 'on top of X2\n' }, 'task/X2');
    const all = [
      candidates[0]!,
      { taskId: 'X1', agent: 'builder-x1', branch: 'task/X1', dependsOn: [] },
      ...candidates.slice(1, 3),
      { taskId: 'X2', agent: 'builder-x2', branch: 'task/X2', dependsOn: [] },
      { taskId: 'X3', agent: 'builder-x3', branch: 'task/X3', dependsOn: ['X2'] },
      ...candidates.slice(3),
    ];
    const before = await userCheckout(repo);
    const result = await integrate(options(all));

    expect(result.predictedConflicts).toEqual([
      { a: 'X1', b: 'X2', files: ['shared.txt'] },
      { a: 'X1', b: 'X3', files: ['shared.txt'] },
    ]);
    expect(result.conflicts).toEqual([{ taskId: 'X2', files: ['shared.txt'], with: ['X1'] }]);
    expect(result.dropped).toEqual([
      { taskId: 'X2', reason: 'merge conflict with task X1 in shared.txt' },
      {
        taskId: 'X3',
        reason: 'depends on task X2, which was dropped (merge conflict with task X1 in shared.txt)',
      },
    ]);
    expect(result.merged).toEqual(['T1', 'X1', 'T2', 'T3', 'T4', 'T5', 'T6']);
    expect(result.testRuns).toBe(1);
    await expectWholeBranch(repo, result, agentsOf(all));
    expect(await repo.git(['show', `${result.branch}:shared.txt`])).toBe(
      'line 1\nX1 was here\nline 3',
    );
    expect(await userCheckout(repo)).toEqual(before);
  });

  it('blames nobody when the tests fail on the base itself', async () => {
    const candidates = await taskBranches(repo, 4);
    const result = await integrate(options(candidates, { testCommand: 'sh test.sh && exit 1' }));
    expect(result.dropped).toEqual([]);
    expect(result.merged).toEqual(['T1', 'T2', 'T3', 'T4']);
    expect(result.testsPassed).toBe(false);
    expect(result.notes).toEqual([
      expect.stringContaining(`fail on the base commit ${repo.baseSha.slice(0, 12)} itself`),
    ]);
    await expectWholeBranch(repo, result, agentsOf(candidates));
  });

  it('merges without testing when there is no test command; drops a missing or unrelated branch', async () => {
    const candidates = await taskBranches(repo, 3);
    const missing = { taskId: 'T8', agent: 'builder-8', branch: 'task/nope', dependsOn: [] };
    // A root commit of its own: git refuses to merge unrelated histories (a failure, not a conflict).
    const orphan = await repo.git(['commit-tree', 'main^{tree}', '-m', 'unrelated']);
    await repo.git(['update-ref', 'refs/heads/task/T9', orphan]);
    const unrelated = { taskId: 'T9', agent: 'builder-9', branch: 'task/T9', dependsOn: [] };
    const result = await integrate(
      options([candidates[0]!, missing, unrelated, ...candidates.slice(1)], { testCommand: null }),
    );
    expect(result).toMatchObject({
      merged: ['T1', 'T2', 'T3'],
      conflicts: [],
      predictedConflicts: [],
      testRuns: 0,
      testsPassed: null,
    });
    expect(result.dropped).toEqual([
      { taskId: 'T8', reason: 'branch task/nope not found' },
      { taskId: 'T9', reason: expect.stringContaining('refusing to merge unrelated histories') },
    ]);
    await expectWholeBranch(repo, result, agentsOf(candidates));
  });

  it('runs the setup command once in the integration worktree before testing', async () => {
    await repo.branch('task/T1', { 'src/T1.txt': 'work\n' });
    const candidates = [{ taskId: 'T1', agent: 'builder-1', branch: 'task/T1', dependsOn: [] }];
    // The test needs what setup installed (an ignored folder, as node_modules would be).
    const result = await integrate(
      options(candidates, {
        setupCommand: 'mkdir -p node_modules && echo installed > node_modules/dep.txt',
        testCommand: 'test -f node_modules/dep.txt && sh test.sh',
      }),
    );
    expect(result).toMatchObject({ merged: ['T1'], testRuns: 1, testsPassed: true });
    await expect(
      integrate(options(candidates, { setupCommand: 'echo no network >&2; exit 7' })),
    ).rejects.toThrow('the setup command failed in the integration worktree (exit 7)');
    const worktrees = await repo.git(['worktree', 'list', '--porcelain']);
    expect(worktrees.match(/^worktree /gm)).toHaveLength(1);
  });
});

describe('integrate, serial', () => {
  it('tests after every merge and undoes the one that fails', async () => {
    const candidates = await taskBranches(repo, 5, [3]);
    const result = await integrate(options(candidates, { strategy: 'serial' }));
    expect(result).toMatchObject({
      strategy: 'serial',
      merged: ['T1', 'T2', 'T4', 'T5'],
      testRuns: 5,
      testsPassed: true,
    });
    expect(result.dropped).toEqual([
      {
        taskId: 'T3',
        reason: expect.stringMatching(/^integration tests failed after merging it \(test run 3: /),
        testOutput: expect.stringMatching(/integration-test-03\.txt$/),
      },
    ]);
    await expectWholeBranch(repo, result, agentsOf(candidates));
  });
});

describe('integrate, refusals and aborts', () => {
  it('refuses an existing branch without touching anything', async () => {
    const candidates = await taskBranches(repo, 2);
    await repo.git(['branch', 'integration/taken', 'main']);
    const before = await userCheckout(repo);
    await expect(
      integrate(options(candidates, { branchName: 'integration/taken' })),
    ).rejects.toBeInstanceOf(PreflightError);
    expect(await userCheckout(repo)).toEqual(before);
    expect(await repo.git(['rev-parse', 'integration/taken'])).toBe(repo.baseSha);
  });

  it('on abort during a test run removes its worktree and leaves the branch at a whole merge', async () => {
    const candidates = await taskBranches(repo, 3);
    const controller = new AbortController();
    const marker = join(repo.dir, 'started');
    const pending = integrate(
      options(candidates, { testCommand: `touch ${marker}; sleep 20`, signal: controller.signal }),
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const started = await readFile(marker).then(
        () => true,
        () => false,
      );
      if (started) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    const worktrees = await repo.git(['worktree', 'list', '--porcelain']);
    expect(worktrees.match(/^worktree /gm)).toHaveLength(1);
    const head = await repo.git(['rev-parse', `integration/run-${runs}`]);
    expect(await repo.git(['log', '-1', '--format=%s', head])).toBe(
      'Integrate task T3 (builder-3): task/T3',
    );
  });
});
