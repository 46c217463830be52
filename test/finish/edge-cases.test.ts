import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, task } from '../engine/helpers.js';
import { readState, type RunDocument } from './helpers.js';
import { join } from 'node:path';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
});
afterEach(async () => {
  await repo.cleanup();
});

async function run(agent: string, extra: string[] = []) {
  const result = await cli(
    ['run', '--plan', 'plan.json', '--agent-command', agent, '--json', ...extra],
    repo.dir,
  );
  return { ...result, doc: JSON.parse(result.stdout || 'null') as RunDocument };
}

describe('finishing an execution', () => {
  it('integrates a task that changed nothing as a no-op, and a dependent built on it', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b', { dependsOn: ['a'] })]));
    const base = await repo.git(['rev-parse', 'HEAD']);
    const { code, stderr, doc } = await run('if [ "$PE_TASK_ID" = b ]; then echo b > b.txt; fi');
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    // No package.json: no integration tests to run, and none were invented.
    expect(doc.integration).toMatchObject({ merged: ['a', 'b'], testRuns: 0, testsPassed: null });
    const branch = doc.integration!.branch;
    expect(await repo.git(['show', `${branch}:b.txt`])).toBe('b');
    await repo.git(['merge-base', '--is-ancestor', base, branch]);
    // A JSON plan has no lines to write statuses into; the report is committed all the same.
    expect(doc.writeBack?.note).toContain('not a Markdown plan');
    expect(doc.reportCommit).toMatchObject({ branch, planFile: null });
  });

  it('--no-detect-conflicts skips the merge-tree check; the conflict is still reported', async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const agent = 'echo "$PE_TASK_ID" > shared.txt';
    const predicted = async (id: string) => {
      const file = join(
        repo.dir,
        '.parallel-executor',
        'executions',
        id,
        'PARALLEL_EXECUTION_STATUS.json',
      );
      return (await readState(file)).integration?.predictedConflicts;
    };
    const { code, stderr, doc } = await run(agent, ['--no-detect-conflicts']);
    expect(code, stderr).toBe(1);
    expect(doc.integration).toMatchObject({
      merged: ['c'],
      conflicts: [{ taskId: 'd', files: ['shared.txt'], with: ['c'] }],
    });
    expect(await predicted(doc.executionId)).toEqual([]);
    // The integration branch is clean at its last merge, and the checkout was not touched.
    expect(await repo.git(['show', `${doc.integration!.branch}:shared.txt`])).toBe('c');
    expect(await repo.git(['status', '--porcelain'])).toBe('');

    // The same run with the check (the default) finds the pair before merging.
    const checked = await run(agent);
    expect(checked.code).toBe(1);
    expect(await predicted(checked.doc.executionId)).toEqual([
      { a: 'c', b: 'd', files: ['shared.txt'] },
    ]);
  });

  it('refuses contradictory or unknown finishing flags with exit 2, before anything runs', async () => {
    await writePlanJson(repo.dir, plan([task('a')]));
    const cases: Array<[string[], string]> = [
      [['--merge-strategy', 'octopus'], '--merge-strategy: "octopus" is not a strategy'],
      [['--write-back', 'somewhere'], '--write-back: "somewhere" is not a write-back mode'],
      [['--write-back', 'working-tree', '--no-write-back'], 'contradict each other'],
      [['--detect-conflicts', '--no-detect-conflicts'], 'contradict each other'],
    ];
    for (const [flags, message] of cases) {
      const result = await cli(
        ['run', '--plan', 'plan.json', '--agent-command', 'true', ...flags],
        repo.dir,
      );
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(await repo.git(['branch', '--format=%(refname:short)'])).toBe('main');
  });
});
