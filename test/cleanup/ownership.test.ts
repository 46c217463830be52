import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { createFinisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS } from '../../src/engine/finish/settings.js';
import { readState } from '../../src/engine/monitor/state-store.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { pathExists } from '../../src/engine/path-exists.js';
import { cli } from '../cli-run/helpers.js';
import { agentEnv, plan, runPlan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  addTask,
  integrate,
  integrationResult,
  makeRepo,
  run as gitIn,
  TEST_ENV,
  writeState,
} from './repo.js';
import { checkInvariant, describe as describeReport, readLedger } from '../support/invariant.js';

/**
 * `clean` removes only what belongs to the execution it cleans, never touches a running one, and
 * keeps uncommitted work under a ref before removing any worktree — `--force` included.
 */

const COMMIT = 'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';
const record = (json: string) => `printf '%s\\n' '${json}' >> "$LEDGER/$PE_TASK_ID.jsonl"`;
/** Commits one file (unless $NO_COMMIT); with $FAIL set, also leaves one uncommitted and exits 1. */
const AGENT =
  'if [ -z "$NO_COMMIT" ]; then ' +
  `echo "done by $PE_TASK_ID" > "done-$PE_TASK_ID.txt" && git add . && ${COMMIT} commit -qm done && ` +
  `printf '{"commit":"%s","task":"%s"}\\n' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"; fi; ` +
  'if [ -n "$FAIL" ]; then echo "half-done" > wip.txt && ' +
  `${record('{"uncommitted":"wip.txt","content":"half-done\\n","task":"1"}')}; exit 1; fi`;

let repo: TempRepo;
let box: Scratch;
let runs = 0;
const disposables: (() => Promise<void>)[] = [];
beforeEach(async () => {
  repo = await createTempRepo();
  box = await scratch();
});
afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
  await Promise.all(disposables.splice(0).map((dispose) => dispose()));
});

interface Ran {
  state: ExecutionState;
  stateFile: string;
  /** This run's agents' ledger. */
  ledger: string;
}

async function runOnce(agentEnvExtra: Record<string, string> = {}): Promise<Ran> {
  const ledger = join(box.dir, `ledger-${++runs}`);
  await mkdir(ledger);
  const finisher = createFinisher({ settings: DEFAULT_FINISH_SETTINGS, env: agentEnv() });
  const { state, stateFile } = await runPlan(repo.dir, plan([task('1')]), AGENT, {
    env: agentEnv({ LEDGER: ledger, ...agentEnvExtra }),
    hooks: finisher.hooks,
  });
  return { state, stateFile, ledger };
}

async function expectInvariant(ran: Ran): Promise<void> {
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state: await readState(ran.stateFile),
    ledger: await readLedger(ran.ledger),
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

describe('clean and other executions', () => {
  it("cleaning an old execution leaves a newer failed execution's kept worktree alone", async () => {
    // An old execution, fully merged and cleaned up by the run itself…
    const old = await runOnce();
    expect(old.state.status).toBe('completed');
    expect(await pathExists(old.state.tasks['1']!.worktree)).toBe(false);
    // …then the same plan again: it fails, keeping its worktree with only uncommitted work (its
    // branch is still at the base, so it looks merged into the old execution's branches).
    const newer = await runOnce({ FAIL: '1', NO_COMMIT: '1' });
    const kept = newer.state.tasks['1']!;
    expect(kept.status).toBe('failed');
    expect(await readFile(join(kept.worktree, 'wip.txt'), 'utf8')).toBe('half-done\n');
    const tip = await repo.git(['rev-parse', `refs/heads/${kept.branch}`]);

    const cleaned = await cli(['clean', '--all-finished'], repo.dir);
    expect(cleaned.code, cleaned.stderr).toBe(0);

    expect(await readFile(join(kept.worktree, 'wip.txt'), 'utf8')).toBe('half-done\n');
    expect(await repo.git(['rev-parse', `refs/heads/${kept.branch}`])).toBe(tip);
    expect(await repo.git(['worktree', 'list'])).toContain(kept.worktree);
    // (The failed task's uncommitted file is in its worktree, not yet under a ref: a failed agent's
    // worktree is kept as it is, so the invariant checker is not asked here.)
  });

  it('with worktree folders and branch names shared (older layouts), the newest execution owns them', async () => {
    // Execution A's task, merged, its worktree and branch already cleaned away…
    const a = await makeRepo('exec_20251129_140000');
    disposables.push(a.dispose);
    const old = await addTask(a, { id: '5.1' });
    await integrate(a, [old]);
    const oldState = await writeState(a, [old], { integration: integrationResult(['5.1']) });
    await gitIn(a.root, ['worktree', 'remove', '--force', old.worktree]);
    await gitIn(a.root, ['branch', '-q', '-D', old.branch]);
    // …then execution B, later, got the same folder and branch name; it failed with work left.
    const b = { ...a, executionId: 'exec_20251129_150000' };
    b.executionDir = join(a.root, '.parallel-executor', 'executions', b.executionId);
    const newer = await addTask(b, { id: '5.1', status: 'failed' });
    expect(newer.worktree).toBe(old.worktree);
    await writeFile(join(newer.worktree, 'wip.txt'), 'uncommitted\n');
    await writeState(b, [newer], { status: 'failed', started_at: '2025-11-29T15:00:00.000Z' });
    const tip = await gitIn(a.root, ['rev-parse', newer.branch]);

    const result = await cleanupExecution(oldState, {
      repoRoot: a.root,
      executionDir: a.executionDir,
      env: TEST_ENV,
      force: true,
    });
    expect(result.items.filter((item) => item.kind !== 'outputs')).toEqual([
      expect.objectContaining({
        kind: 'worktree',
        action: 'kept',
        reason: `it is now the worktree of execution ${b.executionId}: not this one's`,
      }),
      expect.objectContaining({
        kind: 'branch',
        action: 'kept',
        reason: `the branch now belongs to execution ${b.executionId}: not this one's`,
      }),
    ]);
    expect(await readFile(join(newer.worktree, 'wip.txt'), 'utf8')).toBe('uncommitted\n');
    expect(await gitIn(a.root, ['rev-parse', newer.branch])).toBe(tip);
  });

  it('clean --force keeps uncommitted work and unmerged commits under a named ref', async () => {
    const failed = await runOnce({ FAIL: '1' });
    const run = failed.state.tasks['1']!;
    const result = await cli(['clean', '--force', failed.state.execution_id], repo.dir);
    expect(result.code, result.stderr).toBe(0);
    expect(await pathExists(run.worktree)).toBe(false);
    expect(await repo.git(['branch', '--list', run.branch])).toBe('');

    const state = await readState(failed.stateFile);
    const refs = state.tasks['1']!.kept_refs ?? [];
    expect(refs.length).toBeGreaterThan(0);
    // The failure kept its uncommitted work already; clean keeps the state it removes once more.
    const ref = refs.find((kept) => kept.why.startsWith('clean'))!.ref;
    expect(ref).toMatch(
      new RegExp(`^refs/parallel-executor/${state.execution_id}/1/attempt-\\d+$`),
    );
    expect(result.stdout).toContain(ref);
    expect(await repo.git(['show', `${ref}:wip.txt`])).toBe('half-done');
    expect(await repo.git(['show', `${ref}:done-1.txt`])).toBe('done by 1');
    await expectInvariant(failed);
  });

  it('clean --force moves a nested repository out of a worktree it removes, into the execution folder, and says where', async () => {
    const failed = await runOnce({ FAIL: '1' });
    const run = failed.state.tasks['1']!;
    // What an agent that ran `git init` (or cloned something) in a folder of its worktree leaves:
    // no ref of this repository can keep its files.
    const nested = join(run.worktree, 'vendor', 'lib');
    await mkdir(nested, { recursive: true });
    await gitIn(nested, ['init', '-q']);
    await writeFile(join(nested, 'notes.txt'), 'only here\n');
    await gitIn(nested, ['add', '.']);
    await gitIn(nested, [
      '-c',
      'user.name=A',
      '-c',
      'user.email=a@example.invalid',
      'commit',
      '-qm',
      'x',
    ]);
    await writeFile(join(nested, 'loose.txt'), 'not committed\n');

    const result = await cli(['clean', '--force', failed.state.execution_id], repo.dir);
    expect(result.code, result.stderr).toBe(0);
    expect(await pathExists(run.worktree)).toBe(false);
    const executionDir = join(
      repo.dir,
      '.parallel-executor',
      'executions',
      failed.state.execution_id,
    );
    const kept = join(
      executionDir,
      'kept',
      run.output_dir.split('/').pop()!,
      'clean',
      'vendor',
      'lib',
    );
    expect(await readFile(join(kept, 'notes.txt'), 'utf8')).toBe('only here\n');
    expect(await readFile(join(kept, 'loose.txt'), 'utf8')).toBe('not committed\n');
    expect(await gitIn(kept, ['log', '--format=%s'])).toBe('x');
    expect(result.stdout).toContain('vendor/lib');
    expect(result.stdout).toContain(kept.slice(0, kept.length - '/vendor/lib'.length));
    await expectInvariant(failed);
  });
});
