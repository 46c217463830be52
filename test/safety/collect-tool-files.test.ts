import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, filesOn, LEDGER_COMMIT, runWithLedger } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/** What real agents do: write, summarise, `git add -A`, commit. */
const ADD_ALL =
  'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt" && echo "done $PE_TASK_ID" > TASK_SUMMARY.md && ' +
  `git add -A && ${AGENT_GIT} commit -qm "task $PE_TASK_ID" && ${LEDGER_COMMIT}`;

describe("the tool's own files never reach a task branch", () => {
  it('merges parallel tasks whose agents commit with git add -A, and their dependent', async () => {
    repo = await createTempRepo({ files: { 'README.md': '# r\n', '.gitignore': '.env\n' } });
    // An ignored secret the tool copies into every worktree.
    await repo.write('.env', 'SECRET=1\n');
    const thePlan = plan([task('a'), task('b'), task('c', { dependsOn: ['a', 'b'] })]);
    const run = await runWithLedger(repo, thePlan, ADD_ALL);
    const { state } = run;
    expect(Object.values(state.tasks).map((t) => [t.task_id, t.status, t.reason])).toEqual([
      ['a', 'completed', null],
      ['b', 'completed', null],
      ['c', 'completed', null],
    ]);
    expect(state.integration?.merged).toEqual(['a', 'b', 'c']);
    const files = await filesOn(repo, state.integration!.branch);
    expect(files).toEqual(expect.arrayContaining(['out-a.txt', 'out-b.txt', 'out-c.txt']));
    expect(files).not.toContain('AGENT_CONTEXT.md');
    expect(files).not.toContain('TASK_SUMMARY.md');
    expect(files).not.toContain('.env');
    // The summary is still the task's output, just not a file on its branch.
    expect(await readFile(join(state.tasks['a']!.output_dir, 'TASK_SUMMARY.md'), 'utf8')).toBe(
      'done a\n',
    );
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it('puts back a tracked or force-added tool file with one more commit, keeping the agent commits', async () => {
    repo = await createTempRepo({
      files: {
        'README.md': '# r\n',
        '.gitignore': '.env\n',
        'AGENT_CONTEXT.md': '# the project’s own file\n',
      },
    });
    await repo.write('.env', 'SECRET=1\n');
    const command =
      'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt" && echo "done" > TASK_SUMMARY.md && ' +
      `git add -A && git add -f TASK_SUMMARY.md .env && ${AGENT_GIT} commit -qm "task $PE_TASK_ID" && ` +
      LEDGER_COMMIT;
    const run = await runWithLedger(repo, plan([task('a'), task('b')]), command);
    const { state } = run;
    expect(state.integration?.merged).toEqual(['a', 'b']);
    const branch = state.integration!.branch;
    expect(await repo.git(['show', `${branch}:AGENT_CONTEXT.md`])).toBe('# the project’s own file');
    const files = await filesOn(repo, branch);
    expect(files).not.toContain('TASK_SUMMARY.md');
    expect(files).not.toContain('.env');
    const a = state.tasks['a']!;
    expect(await repo.git(['log', '-1', '--format=%s', a.head_sha!])).toMatch(
      /keep the tool's files out of the branch/,
    );
    // The agent's own commit is the parent: not rewritten.
    expect(await repo.git(['log', '-1', '--format=%s', `${a.head_sha!}~1`])).toBe('task a');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
