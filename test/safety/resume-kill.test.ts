import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
  type CheckoutSnapshot,
} from '../support/invariant.js';
import {
  killHard,
  LEDGER_AGENT,
  lines,
  readStateFile,
  spawnRun,
  waitFor,
} from './resume-support.js';

/**
 * kill -9 of the orchestrator at the awkward moments — while an agent runs (the orphan goes on
 * and commits), during validation, during preparation, during integration — then `resume`: no
 * commit lost, nothing falsely merged, and an agent whose work is there is never run again.
 */

let repo: TempRepo;
let box: Scratch;
let env: Record<string, string | undefined>;
let before: CheckoutSnapshot;

async function setUp(config: string): Promise<void> {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'README.md': 'x\n',
      // A short grace: the orphans resume stops are gone or quick to go.
      '.github/parallel-executor.yml': `timeouts:\n  grace: 1s\n${config}`,
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
    SETUPS: box.file('setups'),
    VALIDATIONS: box.file('validations'),
    INTEGRATIONS: box.file('integrations'),
  };
  // a, then b on top of it: b only starts once a's resumed work is collected.
  await writePlanJson(repo.dir, plan([task('a'), task('b', { dependsOn: ['a'] })]));
  before = await snapshotCheckout(repo.dir);
}

beforeEach(() => {
  box = undefined as unknown as Scratch;
});

afterEach(async () => {
  // Whatever a test left waiting (an orphaned command) ends now.
  if (box !== undefined) await writeFile(box.file('go'), '').catch(() => undefined);
  await repo?.cleanup();
  await box?.cleanup();
});

const WAIT = 'while [ ! -e "$GO" ]; do sleep 0.1; done';

function startRun() {
  return spawnRun(repo.dir, env, ['--plan', 'plan.json', '--agent-command', LEDGER_AGENT]);
}

async function resumeJson(): Promise<{ code: number; doc: ResumeDoc; stderr: string }> {
  const result = await cli(['resume', '--json'], repo.dir, env);
  return {
    code: result.code,
    doc: JSON.parse(result.stdout || '{}') as ResumeDoc,
    stderr: result.stderr,
  };
}

interface ResumeDoc {
  status: string;
  executionId: string;
  integration: { branch: string; merged: string[] } | null;
}

async function expectInvariant(state: ExecutionState): Promise<void> {
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state,
    ledger: await readLedger(box.file('ledger')),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

async function runsOf(id: string): Promise<number> {
  return (await lines(box.file('runs'))).filter((line) => line === id).length;
}

describe('resume after kill -9 of the orchestrator', () => {
  it('during an agent: the orphan finishes its commit, resume collects it and never runs the agent again', async () => {
    await setUp('integration:\n  testCommand: false\n');
    env['WAIT_FOR'] = 'a';
    const first = startRun();
    const running = await waitFor(async () => {
      const state = await readStateFile(repo.dir);
      return state?.tasks['a']?.status === 'in_progress' && state.tasks['a'].pid !== null
        ? state
        : null;
    });
    await killHard(first);
    // The orphaned agent goes on: it commits and leaves a file after the orchestrator is gone.
    await writeFile(box.file('go'), '');
    await waitFor(async () => (await lines(box.file('ledger/a.jsonl'))).length === 2);
    await waitFor(async () => !isProcessAlive(running.tasks['a']!.pid!));

    const { code, doc, stderr } = await resumeJson();
    expect(code, stderr).toBe(0);
    expect(doc).toMatchObject({ status: 'completed', executionId: running.execution_id });
    expect(doc.integration?.merged).toEqual(['a', 'b']);
    expect({ a: await runsOf('a'), b: await runsOf('b') }).toEqual({ a: 1, b: 1 });
    const state = (await readStateFile(repo.dir))!;
    expect(state.tasks['a']!.warnings?.join('\n')).toMatch(/not run again/);
    expect(state.tasks['a']!.kept_refs?.[0]?.ref).toBe(
      `refs/parallel-executor/${state.execution_id}/a/attempt-1`,
    );
    expect(stderr).toContain(`refs/parallel-executor/${state.execution_id}/a/attempt-1`);
    // What the orphan left uncommitted was collected onto a's branch and integrated.
    const branch = doc.integration!.branch;
    expect(await repo.git(['show', `${branch}:left-a.txt`])).toBe('left by a');
    await expectInvariant(state);
  });

  it('during validation: resume validates the collected work again, the agent is not re-run', async () => {
    await setUp(
      [
        'validation:',
        `  tests: 'echo v >> "$VALIDATIONS"; ${WAIT}'`,
        '  critical: [tests]',
        'integration:',
        '  testCommand: false',
        '',
      ].join('\n'),
    );
    const first = startRun();
    await waitFor(async () => (await lines(box.file('validations'))).length === 1);
    await killHard(first);
    const killed = (await readStateFile(repo.dir))!;
    expect(['collecting', 'validating']).toContain(killed.tasks['a']!.status);
    await writeFile(box.file('go'), '');

    const { code, doc, stderr } = await resumeJson();
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect(doc.integration?.merged).toEqual(['a', 'b']);
    expect({ a: await runsOf('a'), b: await runsOf('b') }).toEqual({ a: 1, b: 1 });
    // a validated twice (killed, then again), b once.
    expect(await lines(box.file('validations'))).toHaveLength(3);
    const state = (await readStateFile(repo.dir))!;
    expect(state.tasks['a']!.validation?.status).not.toBe('FAILED');
    await expectInvariant(state);
  });

  it('during preparation: the half-made worktree and branch are reused, the agent runs once', async () => {
    await setUp(
      [
        'workspace:',
        `  setup: 'echo s >> "$SETUPS"; ${WAIT}'`,
        'integration:',
        '  testCommand: false',
        '',
      ].join('\n'),
    );
    const first = startRun();
    await waitFor(async () => (await lines(box.file('setups'))).length === 1);
    await killHard(first);
    const killed = (await readStateFile(repo.dir))!;
    expect(killed.tasks['a']!.status).toBe('preparing');
    await writeFile(box.file('go'), '');

    const { code, doc, stderr } = await resumeJson();
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect({ a: await runsOf('a'), b: await runsOf('b') }).toEqual({ a: 1, b: 1 });
    await expectInvariant((await readStateFile(repo.dir))!);
  });

  it('during integration: the state says unfinished, clean refuses, resume integrates under the same branch', async () => {
    await setUp(
      ['integration:', `  testCommand: 'echo i >> "$INTEGRATIONS"; ${WAIT}'`, ''].join('\n'),
    );
    const first = startRun();
    await waitFor(async () => (await lines(box.file('integrations'))).length === 1);
    await killHard(first);
    const killed = (await readStateFile(repo.dir))!;
    expect(killed.integration).toBeNull();
    expect(killed.status).toBe('in_progress');

    const status = await cli(['status'], repo.dir, env);
    expect(status.stdout).toContain(`parallel-executor resume ${killed.execution_id}`);
    const clean = await cli(['clean', killed.execution_id], repo.dir, env);
    expect(clean.code).not.toBe(0);
    expect(clean.stderr).toContain(`parallel-executor resume ${killed.execution_id}`);

    await writeFile(box.file('go'), '');
    const { code, doc, stderr } = await resumeJson();
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect(doc.integration).toMatchObject({
      branch: `integration/${killed.execution_id}`,
      merged: ['a', 'b'],
    });
    expect({ a: await runsOf('a'), b: await runsOf('b') }).toEqual({ a: 1, b: 1 });
    // The killed integration's partial branch is kept under a backup ref, and the output says so.
    const kept = `refs/parallel-executor/${killed.execution_id}/integration/attempt-1`;
    expect(await repo.git(['for-each-ref', '--format=%(refname)', kept])).toBe(kept);
    expect(stderr).toContain(kept);
    await expectInvariant((await readStateFile(repo.dir))!);
  });
});
