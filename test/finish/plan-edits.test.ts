import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { cli } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import type { RunDocument } from './helpers.js';

const PLAN = `# Plan: Auth

## Parallel Group 1: Foundation
**Dependencies**: None

- [ ] Task 1.1: Create the user model (Agent: Builder-1, Est: 1h)
- [ ] Task 1.2: Create the API skeleton (Agent: Builder-2, Est: 2h)
`;

const FILE = 'MULTI_AGENT_PLAN.md';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { [FILE]: PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

/** Every task does some work; `editor` also runs `edit` on the plan in its worktree. */
async function run(editor: string, edit: string, extra: string[] = []) {
  const agent = `echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"; if [ "$PE_TASK_ID" = ${editor} ]; then ${edit}; fi`;
  const result = await cli(['run', '--agent-command', agent, '--json', ...extra], repo.dir);
  const doc = JSON.parse(result.stdout) as RunDocument & {
    writeBack: RunDocument['writeBack'] & { warnings: string[] };
    checkoutChanges: string[];
  };
  const stateFile = join(
    repo.dir,
    '.parallel-executor',
    'executions',
    doc.executionId,
    'PARALLEL_EXECUTION_STATUS.json',
  );
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as ExecutionState;
  return { ...result, doc, state };
}

const DONE = (id: string) => new RegExp(`^- \\[x\\] Task ${id.replace('.', '\\.')}: .* ✅`, 'm');

describe("an agent's edit of the plan", () => {
  it.each([
    [
      'ticks its own box',
      '1.1',
      "sed -i 's/- \\[ \\] Task 1.1/- [x] Task 1.1/' " + FILE,
      'changes task(s) 1.1',
    ],
    ["deletes another task's line", '1.2', `sed -i '/Task 1.1:/d' ${FILE}`, 'removes task(s) 1.1'],
    [
      'adds a task',
      '1.1',
      `sed -i '/Task 1.2:/a - [ ] Task 1.3: Extra work (Agent: Builder-3, Est: 1h)' ${FILE}`,
      'adds task(s) 1.3',
    ],
  ])(
    '%s: every status is written from the plan at the base, and the dropped edit is named',
    async (_name, editor, edit, why) => {
      const { code, stdout, stderr, doc, state } = await run(editor, edit);
      expect(code, stderr + stdout).toBe(0);
      const branch = doc.integration!.branch;
      const onBranch = await repo.git(['show', `${branch}:${FILE}`]);
      expect(onBranch).toMatch(DONE('1.1'));
      expect(onBranch).toMatch(DONE('1.2'));
      expect(onBranch).not.toContain('Task 1.3');
      expect(doc.writeBack?.changed).toBe(true);
      expect(doc.checkoutChanges).toEqual([]);
      const warning = doc.writeBack!.warnings.join('\n');
      expect(warning).toContain(`task ${editor} edited ${FILE} on ${branch}`);
      expect(warning).toContain(`was dropped because it ${why}`);
      expect(state.tasks[editor]!.warnings?.join('\n')).toContain('was dropped');
      // The next run finds nothing left to do once the branch is merged.
      await repo.git(['merge', '-q', '--no-ff', '-m', 'merge', branch]);
      const again = await cli(['run', '--agent-command', 'true', '--json'], repo.dir);
      expect(again.stderr + again.stdout).toContain('no task to run');
    },
  );

  it('an edit that touches no task is carried with the statuses, and said so', async () => {
    const { code, doc } = await run(
      '1.1',
      `printf '\\n## Notes\\n\\nThe model uses UUIDs.\\n' >> ${FILE}`,
    );
    expect(code).toBe(0);
    const onBranch = await repo.git(['show', `${doc.integration!.branch}:${FILE}`]);
    expect(onBranch).toMatch(DONE('1.1'));
    expect(onBranch).toMatch(DONE('1.2'));
    expect(onBranch).toContain('The model uses UUIDs.');
    expect(doc.writeBack!.warnings.join('\n')).toContain('the edit touches no task and was kept');
  });

  it('with --write-back working-tree, the plan file gets every status, the branch keeps the plan as at the start, and merging it leaves the plan file alone', async () => {
    const { code, stdout, doc } = await run('1.2', `sed -i '/Task 1.1:/d' ${FILE}`, [
      '--write-back',
      'working-tree',
    ]);
    expect(code).toBe(0);
    const text = await readFile(join(repo.dir, FILE), 'utf8');
    expect(text).toMatch(DONE('1.1'));
    expect(text).toMatch(DONE('1.2'));
    // The tool's own write of the plan is not a change to report.
    expect(doc.checkoutChanges).toEqual([]);
    const branch = doc.integration!.branch;
    expect(doc.writeBack!.warnings.join('\n')).toContain(
      `task 1.2 edited ${FILE} on its branch; that edit is not in your plan file, and ${branch} has the plan as it was at the start`,
    );
    expect(stdout).not.toContain('NOT written back');
    // The agent's edit is in the branch's history, not in its plan.
    // Your HEAD is where the run started (working-tree mode commits nothing there).
    const start = await repo.git(['show', `HEAD:${FILE}`]);
    expect(await repo.git(['show', `${branch}:${FILE}`])).toBe(start);
    // The next step the summary gives: merge the branch, the plan file (with its statuses,
    // uncommitted) left as it is.
    await repo.git(['merge', '--no-ff', '-q', '-m', 'merge', branch]);
    const after = await readFile(join(repo.dir, FILE), 'utf8');
    expect(after).toBe(text);
  });

  it('with --write-back working-tree, an edit of the plan file in the checkout is not overwritten, and the output says the statuses were not written', async () => {
    // An agent that deletes a task line in the user's own plan file (through the main checkout).
    const main = 'main_dir="$(git rev-parse --path-format=absolute --git-common-dir)/.."';
    const { stdout } = await cli(
      [
        'run',
        '--agent-command',
        `${main}; if [ "$PE_TASK_ID" = 1.1 ]; then sed -i '/Task 1.2:/d' "$main_dir/${FILE}"; fi`,
        '--write-back',
        'working-tree',
      ],
      repo.dir,
    );
    expect(stdout).toContain('Plan: NOT written back');
    expect(stdout).toMatch(/removes task\(s\) 1\.2/);
    // And the edit itself is named as a change of the checkout.
    expect(stdout).toMatch(/Your checkout changed[^]*MULTI_AGENT_PLAN\.md was modified/);
    expect(await readFile(join(repo.dir, FILE), 'utf8')).not.toContain('Task 1.2');
  });
});
