import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_FILES } from '../../src/demo/sample-repo.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { cli, type CliResult } from '../cli-run/helpers.js';
import {
  checkoutSnapshot,
  DEMO_AGENT,
  DEMO_ENV,
  demoRepo,
  readState,
  type DemoRepo,
  type RunDocument,
} from './helpers.js';
import { lineDiff } from '../plan/helpers.js';

/**
 * The whole flow of `run` on the demo's sample repository, in process, as `demo` runs it: seven
 * real agent processes editing real code, validation with the repository's own lint/test/build,
 * the integration branch, one repair attempt per task left out, the report, the plan's statuses.
 * Run once; each test reads one aspect of the result.
 */
let repo: DemoRepo;
let before: Awaited<ReturnType<typeof checkoutSnapshot>>;
let result: CliResult;
let doc: RunDocument;
let state: ExecutionState;

beforeAll(async () => {
  repo = await demoRepo();
  before = await checkoutSnapshot(repo);
  result = await cli(
    ['run', '--agent-command', DEMO_AGENT, '--repair-attempts', '1', '--json'],
    repo.dir,
    DEMO_ENV,
  );
  doc = JSON.parse(result.stdout) as RunDocument;
  state = await readState(
    join(
      repo.dir,
      '.parallel-executor',
      'executions',
      doc.executionId,
      'PARALLEL_EXECUTION_STATUS.json',
    ),
  );
}, 120_000);

afterAll(async () => {
  await repo.cleanup();
});

const task = (id: string) => doc.tasks.find((t) => t.id === id)!;

describe('run on the demo repository', () => {
  it('exits 1 and is failed: not every task was integrated', () => {
    expect(result.code, result.stderr).toBe(1);
    expect(doc.status).toBe('failed');
    expect(state.status).toBe('failed');
  });

  it('validates every task in its worktree, saying which checks were found and which skipped', async () => {
    expect(result.stderr).toContain(
      'validation runs lint (npm run lint), tests (npm test, critical), build (npm run build, critical); ' +
        'skipped coverage (no "test:coverage" or "coverage" script in package.json), security (no package-lock.json for npm audit)',
    );
    for (const id of ['1.1', '1.2', '1.3', '2.1', '2.2', '2.4']) {
      expect(task(id).validation, id).toEqual({
        status: 'COMPLETE_VALIDATED',
        checks: [
          { name: 'lint', exitCode: 0, passed: true, skipped: false },
          { name: 'tests', exitCode: 0, passed: true, skipped: false },
          { name: 'coverage', exitCode: null, passed: false, skipped: true },
          { name: 'security', exitCode: null, passed: false, skipped: true },
          { name: 'build', exitCode: 0, passed: true, skipped: false },
        ],
      });
      const report = JSON.parse(
        await readFile(join(state.tasks[id]!.output_dir, 'validation_report.json'), 'utf8'),
      ) as { status: string; task_id: string };
      expect(report).toMatchObject({ status: 'COMPLETE_VALIDATED', task_id: id });
    }
  });

  it('fails 2.3 on its own failing test, and only 2.3', async () => {
    const failed = task('2.3');
    expect(failed).toMatchObject({
      status: 'failed',
      // The check, then the last lines its test runner printed.
      reason: expect.stringMatching(
        /^validation failed: tests; its output says: not ok 6 - a quantity of zero is rejected \| /,
      ),
    });
    expect(failed.validation?.status).toBe('FAILED');
    expect(failed.validation?.checks.find((c) => c.name === 'tests')).toEqual({
      name: 'tests',
      exitCode: 1,
      passed: false,
      skipped: false,
    });
    const output = await readFile(join(state.tasks['2.3']!.output_dir, 'test_output.txt'), 'utf8');
    expect(output).toContain('a quantity of zero is rejected');
    expect(doc.tasks.filter((t) => t.status === 'failed').map((t) => t.id)).toEqual(['2.3']);
  });

  it('repairs the conflict of 2.2 with 2.1 and the bisect culprit 2.4, and merges them after the four others', () => {
    expect(doc.integration).toMatchObject({
      branch: `integration/${doc.executionId}`,
      strategy: 'batch-bisect',
      merged: ['1.1', '1.2', '1.3', '2.1', '2.2', '2.4'],
      conflicts: [],
      dropped: [],
      testsPassed: true,
    });
    expect(state.integration?.repairs).toMatchObject([
      {
        taskId: '2.2',
        kind: 'conflict',
        with: ['2.1'],
        files: ['src/config.js'],
        attempts: 1,
        outcome: 'merged',
      },
      {
        taskId: '2.3',
        kind: 'validation',
        attempts: 1,
        outcome: 'failed',
        reason: 'the repaired branch fails its validation: tests',
      },
      { taskId: '2.4', kind: 'tests', attempts: 1, outcome: 'merged' },
    ]);
    // Found before merging too, by git merge-tree (--detect-conflicts is on by default).
    expect(state.integration?.predictedConflicts).toEqual([
      { a: '2.1', b: '2.2', files: ['src/config.js'] },
    ]);
  });

  it("has every merged task's commits on the integration branch, and none of the others", async () => {
    const branch = doc.integration!.branch;
    for (const id of ['1.1', '1.2', '1.3', '2.1', '2.2', '2.4']) {
      await repo.git(['merge-base', '--is-ancestor', state.tasks[id]!.head_sha!, branch]);
    }
    for (const id of ['2.3']) {
      const ancestor = await repo
        .git(['merge-base', '--is-ancestor', state.tasks[id]!.head_sha!, branch])
        .then(() => true)
        .catch(() => false);
      expect(ancestor, id).toBe(false);
    }
    // The integrated code is the tasks' code: 2.1's checkout uses 1.1's discount and 1.3's shipping.
    const checkout = await repo.git(['show', `${branch}:src/checkout.js`]);
    expect(checkout).toContain("import { shippingCents } from './shipping.js';");
    // The repairs: 2.2's euro with 2.1's documented rate; 2.1's test no longer hard-codes shipping.
    expect(await repo.git(['show', `${branch}:src/config.js`])).toBe(
      "export const CURRENCY = 'EUR';\nexport const TAX_RATE = 0.2; // applied after discounts",
    );
    expect(await repo.git(['show', `${branch}:test/checkout.test.js`])).toContain(
      '1080 + shippingCents(900)',
    );
  });

  it('tested the batch, bisected to 2.4, then tested the repaired branches once', async () => {
    expect(doc.integration?.testRuns).toBe(5);
    const dir = join(repo.dir, '.parallel-executor', 'executions', doc.executionId, 'integration');
    const runs = JSON.parse(
      await readFile(join(dir, 'integration-test-runs.json'), 'utf8'),
    ) as Array<{
      tasks: string[];
      passed: boolean;
    }>;
    expect(runs[0]).toMatchObject({ tasks: ['1.1', '1.2', '1.3', '2.1', '2.4'], passed: false });
    expect(runs).toHaveLength(4);
    expect(await readFile(join(dir, 'integration-test-01.txt'), 'utf8')).toMatch(/# fail 1/);
    const repaired = JSON.parse(
      await readFile(join(dir, 'repair-1', 'integration-test-runs.json'), 'utf8'),
    ) as Array<{ tasks: string[]; passed: boolean }>;
    expect(repaired).toEqual([expect.objectContaining({ tasks: ['2.2', '2.4'], passed: true })]);
  });

  it('writes the report with the timeline, and commits it on the integration branch', async () => {
    const reportFile = join(
      repo.dir,
      '.parallel-executor',
      'executions',
      doc.executionId,
      'report.md',
    );
    expect(doc.report).toBe(reportFile);
    const report = await readFile(reportFile, 'utf8');
    expect(report).toContain('```mermaid\ngantt');
    expect(report).toContain(
      '- 2.2: merged, repaired after a merge conflict with 2.1 in src/config.js in 1 attempt',
    );
    expect(report).toContain('5 test runs');
    expect(doc.reportCommit).toEqual({
      branch: doc.integration!.branch,
      path: `reports/${doc.executionId}.md`,
      sha: await repo.git(['rev-parse', doc.integration!.branch]),
      planFile: 'MULTI_AGENT_PLAN.md',
    });
    expect(
      `${await repo.git(['show', `${doc.integration!.branch}:reports/${doc.executionId}.md`])}\n`,
    ).toBe(report);
    // The report commit sits on top of the merges and holds nothing else.
    const files = await repo.git(['show', '--name-only', '--format=', doc.integration!.branch]);
    expect(files.split('\n').sort()).toEqual([
      'MULTI_AGENT_PLAN.md',
      `reports/${doc.executionId}.md`,
    ]);
  });

  it('updates only the intended lines of the plan on the integration branch', async () => {
    const original = SAMPLE_FILES['MULTI_AGENT_PLAN.md']!;
    const updated = `${await repo.git(['show', `${doc.integration!.branch}:MULTI_AGENT_PLAN.md`])}\n`;
    const { removed, added } = lineDiff(original, updated);
    expect(removed).toEqual([
      '## Parallel Group 1: Cart Basics',
      '**Duration**: 1 day',
      '- [ ] 1.1: Add discount codes to the cart (Builder-1, 2h)',
      '- [ ] 1.2: Format prices with a currency symbol (Builder-2, 1h)',
      '- [ ] 1.3: Add shipping rates (Builder-3, 1.5h)',
      '- [ ] 2.1: Compute the checkout total with tax (Builder-1, 3h)',
      '- [ ] 2.2: Support euro prices (Builder-2, 1h)',
      '- [ ] 2.3: Validate cart input (Validator-1, 1h)',
      '- [ ] 2.4: Raise the shipping rate to $5.99 (Builder-3, 0.5h)',
    ]);
    const link = `**Execution Report**: reports/${doc.executionId}.md`;
    const time = String.raw`\d+(\.\d)?(s|min)( \d+s)?`;
    const expected = [
      /^## Parallel Group 1: Cart Basics ✅ COMPLETED$/,
      new RegExp(String.raw`^\*\*Duration\*\*: 1 day → \*\*Actual\*\*: ${time}$`),
      new RegExp(
        String.raw`^- \[x\] 1\.1: Add discount codes to the cart \(Builder-1, 2h\) ✅ ${time}$`,
      ),
      new RegExp(
        String.raw`^- \[x\] 1\.2: Format prices with a currency symbol \(Builder-2, 1h\) ✅ ${time}$`,
      ),
      new RegExp(String.raw`^- \[x\] 1\.3: Add shipping rates \(Builder-3, 1\.5h\) ✅ ${time}$`),
      link,
      new RegExp(
        String.raw`^- \[x\] 2\.1: Compute the checkout total with tax \(Builder-1, 3h\) ✅ ${time}$`,
      ),
      new RegExp(String.raw`^- \[x\] 2\.2: Support euro prices \(Builder-2, 1h\) ✅ ${time}$`),
      '- [ ] 2.3: Validate cart input (Validator-1, 1h) ❌ failed (validation failed: tests)',
      new RegExp(
        String.raw`^- \[x\] 2\.4: Raise the shipping rate to \$5\.99 \(Builder-3, 0\.5h\) ✅ ${time}$`,
      ),
      link,
    ];
    const nonBlank = added.filter((line) => line !== '');
    expect(nonBlank).toHaveLength(expected.length);
    nonBlank.forEach((line, i) => {
      const want = expected[i]!;
      if (typeof want === 'string') expect(line).toBe(want);
      else expect(line).toMatch(want);
    });
    // One blank line before each report link: the links are paragraphs of their own.
    expect(added.filter((line) => line === '')).toHaveLength(2);
  });

  it("leaves the user's checkout exactly as it was", async () => {
    expect(await checkoutSnapshot(repo)).toEqual(before);
  });

  it('keeps the worktree, branch and logs of the task repair could not fix, and says where', async () => {
    expect(doc.cleanup).toBeNull();
    expect(doc.kept.map((k) => k.taskId)).toEqual(['2.3']);
    for (const id of ['2.3']) {
      const run = state.tasks[id]!;
      await access(join(run.worktree, 'src'));
      expect(await repo.git(['rev-parse', run.branch])).toBe(run.head_sha);
      await access(run.log_file);
      await access(join(run.output_dir, 'changes.diff'));
      expect(doc.kept.find((k) => k.taskId === id)).toMatchObject({
        worktree: run.worktree,
        branch: run.branch,
        log: run.log_file,
      });
    }
  });
});
