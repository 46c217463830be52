/**
 * kill -9 in the paths of `resume --retry-failed` and `clean` that set an integration aside,
 * make a cleaned task branch again and delete the earlier integration: after each kill, `clean`
 * and `resume` again lose no commit and call nothing merged that is not.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
  type CheckoutSnapshot,
} from '../support/invariant.js';
import { killHard, LEDGER_AGENT, readStateFile, spawnCli, waitFor } from './resume-support.js';

let repo: TempRepo;
let box: Scratch;
let env: Record<string, string | undefined>;
let before: CheckoutSnapshot;

/** The ledger agent; b's first attempt exits 4 after its work (kept when it is retried). */
const AGENT = `${LEDGER_AGENT}; if [ "$PE_TASK_ID" = b ] && mkdir "$LEDGER/b-failed" 2>/dev/null; then exit 4; fi`;

beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'README.md': 'x\n',
      '.github/parallel-executor.yml': 'timeouts:\n  grace: 1s\n',
    },
  });
  box = await scratch();
  await mkdir(box.file('ledger'));
  env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    RUNS: box.file('runs'),
    GO: box.file('go'),
    LEDGER: box.file('ledger'),
    WAIT_FOR: '',
  };
  await writePlanJson(repo.dir, plan([task('a'), task('b'), task('c')]));
  before = await snapshotCheckout(repo.dir);
});

afterEach(async () => {
  await writeFile(box.file('go'), '').catch(() => undefined);
  await repo.cleanup();
  await box.cleanup();
});

async function expectInvariant(state: ExecutionState): Promise<void> {
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state,
    ledger: await readLedger(box.file('ledger')),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

async function branchExists(branch: string): Promise<boolean> {
  const found = await repo.git(['branch', '--list', branch]);
  return found.trim() !== '';
}

/** A run where a and c merge and b fails, then the `clean` its next steps offer. */
async function partialRunCleaned(): Promise<ExecutionState> {
  const first = await cli(['run', '--plan', 'plan.json', '--agent-command', AGENT], repo.dir, env);
  expect(first.code, first.stderr).toBe(1);
  const clean = await cli(['clean'], repo.dir, env);
  expect(clean.code, clean.stderr).toBe(0);
  const state = (await readStateFile(repo.dir))!;
  expect(state.integration?.merged).toEqual(['a', 'c']);
  expect(await branchExists(state.tasks['a']!.branch)).toBe(false);
  return state;
}

describe('kill -9 during resume --retry-failed and clean of an earlier integration', () => {
  it('killed while the retried task runs, cleaned, resumed, then clean killed and run again: nothing lost', async () => {
    const first = await partialRunCleaned();
    const earlier = first.integration!.branch;

    // The retry is under way (the earlier integration set aside, a and c made again) when killed.
    env['WAIT_FOR'] = 'b';
    const resume = spawnCli(repo.dir, env, ['resume', '--retry-failed']);
    await waitFor(async () => {
      const state = await readStateFile(repo.dir);
      return state?.tasks['b']?.status === 'in_progress' && state.tasks['b'].pid !== null;
    });
    await killHard(resume);
    let state = (await readStateFile(repo.dir))!;
    expect(state.integration).toBeNull();
    expect(state.earlier_integrations?.map((e) => e.branch)).toEqual([earlier]);
    expect(await branchExists(first.tasks['a']!.branch)).toBe(true);

    // A clean --force now (the person gave up on it) keeps what it deletes under refs.
    const between = await cli(['clean', '--force'], repo.dir, env);
    expect(between.code, between.stderr).toBe(0);
    await expectInvariant((await readStateFile(repo.dir))!);

    // Resumed: everything lands in a new integration.
    await writeFile(box.file('go'), '');
    const resumed = await cli(['resume', '--json'], repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    state = (await readStateFile(repo.dir))!;
    expect(state.integration?.merged).toEqual(['a', 'b', 'c']);
    await expectInvariant(state);

    // clean killed at once and a moment later, then run to the end.
    for (const ms of [50, 400]) {
      const cleaning = spawnCli(repo.dir, env, ['clean']);
      await new Promise((done) => setTimeout(done, ms));
      await killHard(cleaning);
      await expectInvariant((await readStateFile(repo.dir))!);
    }
    const last = await cli(['clean', '--json'], repo.dir, env);
    expect(last.code, last.stderr).toBe(0);
    state = (await readStateFile(repo.dir))!;
    expect(await branchExists(state.integration!.branch)).toBe(true);
    await expectInvariant(state);
  });

  it('killed while the retried task runs, resumed, then the clean that deletes the earlier integration killed and run again: nothing lost', async () => {
    const first = await partialRunCleaned();
    const earlier = first.integration!.branch;
    env['WAIT_FOR'] = 'b';
    const resume = spawnCli(repo.dir, env, ['resume', '--retry-failed']);
    await waitFor(async () => {
      const state = await readStateFile(repo.dir);
      return state?.tasks['b']?.status === 'in_progress' && state.tasks['b'].pid !== null;
    });
    await killHard(resume);
    await writeFile(box.file('go'), '');
    const resumed = await cli(['resume', '--json'], repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    let state = (await readStateFile(repo.dir))!;
    expect(state.integration?.merged).toEqual(['a', 'b', 'c']);
    expect(state.integration?.branch).not.toBe(earlier);
    await expectInvariant(state);
    for (const ms of [50, 400, 800]) {
      const cleaning = spawnCli(repo.dir, env, ['clean']);
      await new Promise((done) => setTimeout(done, ms));
      await killHard(cleaning);
      await expectInvariant((await readStateFile(repo.dir))!);
    }
    const last = await cli(['clean', '--json'], repo.dir, env);
    expect(last.code, last.stderr).toBe(0);
    state = (await readStateFile(repo.dir))!;
    expect(await branchExists(earlier)).toBe(false);
    expect(await branchExists(state.integration!.branch)).toBe(true);
    await expectInvariant(state);
  });

  it('killed while the new integration is tested, resumed, cleaned: nothing lost, the earlier one deleted', async () => {
    await writeFile(
      `${repo.dir}/.github/parallel-executor.yml`,
      'timeouts:\n  grace: 1s\nintegration:\n  testCommand: "sleep 1.5"\n',
    );
    await repo.git(['commit', '-qam', 'integration tests take a moment']);
    before = await snapshotCheckout(repo.dir);
    const first = await partialRunCleaned();
    const earlier = first.integration!.branch;
    const resume = spawnCli(repo.dir, env, ['resume', '--retry-failed']);
    await waitFor(
      async () => {
        const state = await readStateFile(repo.dir);
        const progress = state?.integration_progress;
        return state?.integration === null && progress != null && progress.branch !== earlier;
      },
      30_000,
      20,
    );
    await killHard(resume);
    await expectInvariant((await readStateFile(repo.dir))!);
    const resumed = await cli(['resume', '--json'], repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    let state = (await readStateFile(repo.dir))!;
    expect(state.integration?.merged).toEqual(['a', 'b', 'c']);
    await expectInvariant(state);
    const last = await cli(['clean', '--json'], repo.dir, env);
    expect(last.code, last.stderr).toBe(0);
    state = (await readStateFile(repo.dir))!;
    expect(await branchExists(earlier)).toBe(false);
    await expectInvariant(state);
  });

  it('killed after it moved the failed branch back to its start, before it saved: the retry again says what it keeps', async () => {
    const first = await cli(['run', '--plan', 'plan.json', '--agent-command', AGENT], repo.dir, env);
    expect(first.code, first.stderr).toBe(1);
    const failed = (await readStateFile(repo.dir))!;
    const b = failed.tasks['b']!;
    // What a resume --retry-failed killed between moving the branch back (after keeping the
    // attempt under a ref) and its first save leaves: the branch at the start, the state as it was.
    await repo.git(['-C', b.worktree, 'reset', '-q', '--hard', b.start_sha!]);
    await repo.git(['-C', b.worktree, 'clean', '-qfd']);
    const again = await cli(['resume', '--retry-failed', '--json'], repo.dir, env);
    expect(again.code, again.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    const said = state.tasks['b']!.warnings?.join('\n') ?? '';
    // Not 'building on 0 commit(s) made after the failure (… at <the start commit>): the retry
    // starts from there, not from the start commit', nor the start kept as 'the failed attempt'.
    expect(said).toMatch(
      /--retry-failed: the retry starts from the start commit; the worktree as it was is kept as refs\/parallel-executor\/\S+\/b\/attempt-2/,
    );
    expect(state.tasks['b']!.kept_refs?.at(-1)?.why).toBe(
      `--retry-failed: the worktree as it was, its branch already back at the start commit (the failed attempt was at ${b.head_sha!.slice(0, 12)})`,
    );
    expect(state.integration?.merged).toEqual(['a', 'b', 'c']);
    await expectInvariant(state);
  });
});
