import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_FILES } from '../../src/demo/sample-repo.js';
import { cli } from '../cli-run/helpers.js';
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

/** Group 1 of the demo plan: three tasks that all validate and merge — the fully green path. */
let repo: DemoRepo;
beforeEach(async () => {
  repo = await demoRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

const GROUP_1 = ['run', '--group', '1', '--agent-command', DEMO_AGENT, '--json'];
const PLAN = SAMPLE_FILES['MULTI_AGENT_PLAN.md']!;

async function run(extra: string[] = []) {
  const result = await cli([...GROUP_1, ...extra], repo.dir, DEMO_ENV);
  return { ...result, doc: JSON.parse(result.stdout) as RunDocument };
}

function executionDir(id: string): string {
  return join(repo.dir, '.parallel-executor', 'executions', id);
}

describe('a fully integrated run', () => {
  it('tests once, cleans up (worktrees, task branches) and archives, and exits 0', async () => {
    const before = await checkoutSnapshot(repo);
    const { code, stderr, doc } = await run();
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect(doc.integration).toMatchObject({
      branch: 'integration/group-1',
      merged: ['1.1', '1.2', '1.3'],
      conflicts: [],
      dropped: [],
      testRuns: 1,
      testsPassed: true,
    });
    const state = await readState(
      join(executionDir(doc.executionId), 'PARALLEL_EXECUTION_STATUS.json'),
    );
    expect(state.status).toBe('completed');

    // Clean-up: no task worktree or branch left, only the integration branch beside main.
    expect(await repo.git(['worktree', 'list', '--porcelain'])).not.toContain(
      '.parallel-executor/worktrees/',
    );
    expect((await repo.git(['branch', '--format=%(refname:short)'])).split('\n').sort()).toEqual([
      'integration/group-1',
      'main',
    ]);
    for (const id of ['1.1', '1.2', '1.3']) {
      await expect(access(state.tasks[id]!.worktree)).rejects.toThrow();
      await expect(access(state.tasks[id]!.output_dir)).rejects.toThrow();
    }
    const archives = (await readdir(join(executionDir(doc.executionId), 'archives'))).sort();
    expect(archives).toEqual([
      '1.1_Builder-1.tar.gz',
      '1.2_Builder-2.tar.gz',
      '1.3_Builder-3.tar.gz',
    ]);
    expect(doc.cleanup).toMatchObject({ complete: true, errors: 0 });
    expect(doc.kept).toEqual([]);

    // The report says the next group is next; the plan on the branch marks group 1 done.
    const report = await readFile(doc.report!, 'utf8');
    expect(report).toContain('Start parallel group 2 (Checkout)');
    expect(report).toContain('**Status**: ✅ SUCCESS');
    const plan = `${await repo.git(['show', 'integration/group-1:MULTI_AGENT_PLAN.md'])}\n`;
    expect(plan).toContain('## Parallel Group 1: Cart Basics ✅ COMPLETED');
    expect(plan).toContain('- [ ] 2.1: Compute the checkout total with tax (Builder-1, 3h)\n');
    expect(await checkoutSnapshot(repo)).toEqual(before);

    const status = await cli(['status'], repo.dir);
    expect(status.stdout).toContain('Integration branch: integration/group-1 (merged 3 of 3)');
    expect(status.stdout).toContain(`Report: ${doc.report}`);
  });

  it('--write-back working-tree edits the plan in the checkout, and commits only the report', async () => {
    const { code, stderr, doc } = await run(['--write-back', 'working-tree']);
    expect(code, stderr).toBe(0);
    const file = join(repo.dir, 'MULTI_AGENT_PLAN.md');
    expect(doc.writeBack).toMatchObject({ mode: 'working-tree', file, changed: true });
    const { removed, added } = lineDiff(PLAN, await readFile(file, 'utf8'));
    expect(removed).toEqual([
      '## Parallel Group 1: Cart Basics',
      '**Duration**: 1 day',
      '- [ ] 1.1: Add discount codes to the cart (Builder-1, 2h)',
      '- [ ] 1.2: Format prices with a currency symbol (Builder-2, 1h)',
      '- [ ] 1.3: Add shipping rates (Builder-3, 1.5h)',
    ]);
    expect(added.filter((line) => line !== '')).toEqual([
      '## Parallel Group 1: Cart Basics ✅ COMPLETED',
      expect.stringMatching(
        /^\*\*Duration\*\*: 1 day → \*\*Actual\*\*: \d+(\.\d)?(s|min)( \d+s)?$/,
      ),
      expect.stringMatching(/^- \[x\] 1\.1: .* ✅ \d+(\.\d)?(s|min)( \d+s)?$/),
      expect.stringMatching(/^- \[x\] 1\.2: .* ✅ \d+(\.\d)?(s|min)( \d+s)?$/),
      expect.stringMatching(/^- \[x\] 1\.3: .* ✅ \d+(\.\d)?(s|min)( \d+s)?$/),
      `**Execution Report**: reports/${doc.executionId}.md`,
    ]);
    expect(await repo.git(['status', '--porcelain'])).toBe(' M MULTI_AGENT_PLAN.md');
    // On the branch: the report, and the plan as the base had it.
    expect(doc.reportCommit).toMatchObject({
      path: `reports/${doc.executionId}.md`,
      planFile: null,
    });
    expect(
      await repo.git([
        'diff',
        '--name-only',
        'main',
        'integration/group-1',
        '--',
        'MULTI_AGENT_PLAN.md',
      ]),
    ).toBe('');
    expect(await repo.git(['show', '--name-only', '--format=', 'integration/group-1'])).toBe(
      `reports/${doc.executionId}.md`,
    );
  });

  it('--no-write-back leaves the plan alone and commits nothing; a second run gets its own branch', async () => {
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    // The checkout's plan still has group 1 pending: it runs again, under a new branch name.
    const before = await checkoutSnapshot(repo);
    const { code, stderr, doc } = await run(['--no-write-back']);
    expect(code, stderr).toBe(0);
    const branch = `integration/group-1-${doc.executionId}`;
    expect(doc.integration?.branch).toBe(branch);
    expect(doc.writeBack).toMatchObject({ mode: 'none', changed: false });
    expect(doc.reportCommit).toBeNull();
    await access(doc.report!);
    // The branch holds the merges only: its head is the last merge, and the plan is the base's.
    expect(await repo.git(['rev-parse', branch])).toBe(doc.integration?.headSha);
    expect(await repo.git(['diff', '--name-only', 'main', branch])).not.toContain(
      'MULTI_AGENT_PLAN.md',
    );
    expect(await checkoutSnapshot(repo)).toEqual(before);
    expect(await repo.git(['rev-parse', 'integration/group-1'])).toBe(first.doc.reportCommit?.sha);
  });

  it('--merge-strategy serial tests after every merge', async () => {
    const { code, stderr, doc } = await run(['--merge-strategy', 'serial', '--no-write-back']);
    expect(code, stderr).toBe(0);
    expect(doc.integration).toMatchObject({
      strategy: 'serial',
      merged: ['1.1', '1.2', '1.3'],
      testRuns: 3,
    });
  });
});
