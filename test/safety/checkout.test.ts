import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { formatSummary } from '../../src/cli/run-output.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { agentEnv, FAST, plan, runPlan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
} from '../support/invariant.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';

/** The main checkout, from inside an agent's worktree. */
const MAIN = 'main_dir="$(git rev-parse --path-format=absolute --git-common-dir)/.."';
/** Appends the commit just made to the ledger the invariant checker reads. */
const LEDGER_COMMIT =
  'echo "{\\"commit\\":\\"$(git rev-parse HEAD)\\",\\"task\\":\\"$PE_TASK_ID\\"}" >> "$LEDGER/$PE_TASK_ID.jsonl"';

let repo: TempRepo;
let box: Scratch;
beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  box = await scratch();
});
afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

async function expectInvariant(
  state: ExecutionState,
  before: Awaited<ReturnType<typeof snapshotCheckout>>,
) {
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state,
    ledger: await readLedger(box.dir),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

describe("the user's checkout after a run", () => {
  it('names every change an agent made there (file, branch moved, tag, stash, config), fails that task, and says so in the output and the report', async () => {
    await writePlanJson(repo.dir, plan([task('1.1')]));
    const before = await snapshotCheckout(repo.dir);
    const agent = [
      MAIN,
      // A stash of something the agent wrote into the checkout: only the stash is left changed.
      'echo s > "$main_dir/stashme.txt" && git -C "$main_dir" stash -u -q',
      'echo intruder > "$main_dir/INTRUDER.txt"',
      'git tag agent-tag',
      'git config --local x.y z',
      'git checkout -q --ignore-other-worktrees main && echo m > m.txt && git add m.txt && git commit -qm intrude',
      LEDGER_COMMIT,
    ].join('; ');
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', agent, '--json'],
      repo.dir,
      { LEDGER: box.dir },
    );
    expect(result.code, result.stderr).toBe(1);
    const doc = JSON.parse(result.stdout) as {
      executionId: string;
      report: string;
      checkoutChanges: string[];
      tasks: Array<{ id: string; status: string; reason: string | null }>;
    };
    const changes = doc.checkoutChanges.join('\n');
    for (const word of [
      'INTRUDER.txt',
      'branch main moved',
      'HEAD',
      'tag agent-tag',
      'stash',
      'config',
      'x.y',
    ]) {
      expect(changes).toContain(word);
    }
    expect(changes).toContain('by task 1.1');
    // The config's values are not printed (they may hold credentials).
    expect(changes).not.toContain('x.y=z');
    // The move of main is proven by the commit (it is in the task's history), the rest by timing.
    expect(changes).toMatch(/branch main moved[^\n]*made by task 1\.1/);
    expect(doc.tasks[0]).toMatchObject({ id: '1.1', status: 'failed' });
    // The commit proves the branch move: that fails the task. Timing alone (the file, the stash,
    // the config) is a suspicion the output names, never a reason to fail work.
    expect(doc.tasks[0]!.reason).toMatch(/^it changed your checkout: .*branch main moved/);
    expect(doc.tasks[0]!.reason).not.toContain('INTRUDER.txt');
    // Nothing was repaired.
    expect(await repo.git(['config', '--local', 'x.y'])).toBe('z');
    expect(await repo.git(['tag', '--list', 'agent-tag'])).toBe('agent-tag');

    const report = await readFile(doc.report, 'utf8');
    expect(report).toContain('## Your checkout');
    expect(report).toContain('INTRUDER.txt');
    const stateFile = `${repo.dir}/.parallel-executor/executions/${doc.executionId}/PARALLEL_EXECUTION_STATUS.json`;
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as ExecutionState;
    expect(formatSummary(state, stateFile)).toContain(
      'Your checkout changed during the run (nothing was undone',
    );
    await expectInvariant(state, before);
  });

  it('blames the task whose commit moved the branch, and no one for a file when two tasks were running', async () => {
    const before = await snapshotCheckout(repo.dir);
    const agent = [
      MAIN,
      'if [ "$PE_TASK_ID" = a ]; then sleep 0.4; git checkout -q --ignore-other-worktrees main && echo a > a.txt && git add a.txt && git commit -qm "a on main" && ' +
        LEDGER_COMMIT +
        '; else echo b > "$main_dir/from-b.txt"; sleep 1.5; echo b > b.txt; fi',
    ].join('; ');
    const { state } = await runPlan(repo.dir, plan([task('a'), task('b')]), agent, {
      env: agentEnv({ LEDGER: box.dir }),
    });
    const changes = state.checkout_changes ?? [];
    expect(changes.find((c) => c.startsWith('branch main moved'))).toMatch(/made by task a\b/);
    expect(changes.find((c) => c.includes('from-b.txt'))).toMatch(
      /while tasks a, b were running \(which one cannot be told\)/,
    );
    expect(state.tasks['a']).toMatchObject({ status: 'failed' });
    expect(state.tasks['a']!.reason).toContain('branch main moved');
    expect(state.tasks['b']).toMatchObject({ status: 'completed' });
    await expectInvariant(state, before);
  });

  it('a new branch or tag an agent made is named and warned about, but does not fail its task', async () => {
    const before = await snapshotCheckout(repo.dir);
    const { state } = await runPlan(
      repo.dir,
      plan([task('a')]),
      'git branch scratch && git tag agent-tag && echo a > a.txt',
    );
    expect(state.tasks['a']!.status).toBe('completed');
    const changes = state.checkout_changes!.join('\n');
    expect(changes).toMatch(/branch scratch was created .* by task a/);
    expect(changes).toMatch(/tag agent-tag was created .* by task a/);
    expect(state.tasks['a']!.warnings?.join('\n')).toContain('tag agent-tag was created');
    await expectInvariant(state, before);
  });

  it('nothing is said when agents keep to their worktrees', async () => {
    const { state } = await runPlan(repo.dir, plan([task('a')]), 'echo a > a.txt');
    expect(state.status).toBe('completed');
    expect(state.checkout_changes).toEqual([]);
  });

  it('resume compares with the checkout as it was when the execution started', async () => {
    const before = await snapshotCheckout(repo.dir);
    const command = `${MAIN}; if [ ! -e "$FIXED" ]; then echo x > "$main_dir/INTRUDER.txt"; exit 3; fi; echo ok > ok.txt`;
    const env = agentEnv({ FIXED: box.file('fixed') });
    const first = await runPlan(repo.dir, plan([task('a')]), command, { env });
    expect(first.state.checkout_changes?.join('\n')).toMatch(/INTRUDER\.txt.*by task a/);
    await writeFixed(box.file('fixed'));
    const resumed = await resumeExecution({
      cwd: repo.dir,
      runner: createCommandRunner({ command, graceMs: 300 }),
      env,
      settings: FAST,
      retryFailed: true,
    });
    expect(resumed.state.tasks['a']!.status).toBe('completed');
    // Still named after the resume (and still blamed: the blame is kept in the execution folder).
    expect(resumed.state.checkout_changes?.join('\n')).toMatch(/INTRUDER\.txt.*by task a/);
    await expectInvariant(resumed.state, before);
  });
});

async function writeFixed(file: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, 'fixed\n');
}
