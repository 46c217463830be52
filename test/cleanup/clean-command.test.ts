import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { STATE_FILE } from '../../src/engine/monitor/state-store.js';
import type { TaskRun } from '../../src/engine/monitor/state.js';
import {
  addTask,
  branches,
  integrate,
  integrationResult,
  makeRepo,
  worktreePaths,
  writeState,
  type TestRepo,
} from './repo.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((dispose) => dispose()));
});

function cli(cwd: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const io = { cwd, env: {}, stdout, stderr, signal: new AbortController().signal };
  return { run: (argv: string[]) => main(['clean', ...argv], io), out: () => out, err: () => err };
}

/** A finished, fully merged execution with two tasks. */
async function finishedRepo(
  id = 'exec_20251129_140000',
): Promise<{ repo: TestRepo; tasks: TaskRun[] }> {
  const repo = await makeRepo(id);
  cleanups.push(repo.dispose);
  const tasks = [await addTask(repo, { id: '1.1' }), await addTask(repo, { id: '1.2' })];
  await integrate(repo, tasks);
  await writeState(repo, tasks, { integration: integrationResult(['1.1', '1.2']) });
  return { repo, tasks };
}

/** Another execution folder in the same repository, with only a state file. */
async function addExecution(
  repo: TestRepo,
  id: string,
  fields: Record<string, unknown>,
): Promise<void> {
  const dir = path.join(repo.root, '.parallel-executor', 'executions', id);
  await mkdir(dir, { recursive: true });
  const state = {
    version: 1,
    execution_id: id,
    plan_file: 'MULTI_AGENT_PLAN.md',
    plan_title: null,
    parallel_group: 'all',
    repo_root: repo.root,
    base_ref: 'main',
    base_sha: '0'.repeat(40),
    started_at: '2025-11-29T13:00:00.000Z',
    finished_at: null,
    status: 'completed',
    orchestrator_pid: null,
    tasks: {},
    task_order: [],
    completed_tasks: [],
    failed_tasks: [],
    messages: [],
    integration: null,
    report_path: null,
    ...fields,
  };
  await writeFile(path.join(dir, STATE_FILE), JSON.stringify(state));
}

describe('parallel-executor clean', () => {
  it('cleans the latest execution when no id is given, from a linked worktree too', async () => {
    const { repo, tasks } = await finishedRepo();
    await addExecution(repo, 'exec_older', { started_at: '2025-11-28T10:00:00.000Z' });
    const linked = tasks[0]?.worktree ?? '';
    const t = cli(path.join(linked)); // the executions live in the main worktree
    expect(await t.run([])).toBe(0);
    expect(t.out()).toContain(`Execution ${repo.executionId}:`);
    expect(t.out()).toMatch(
      /removed worktree \.parallel-executor\/worktrees\/1-2 \(1\.2: task finished\)/,
    );
    expect(t.out()).toContain(`2 archive(s) in ${path.join(repo.executionDir, 'archives')}`);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);
  });

  it('prints the result as JSON', async () => {
    const { repo } = await finishedRepo();
    const t = cli(repo.root);
    expect(await t.run([repo.executionId, '--json'])).toBe(0);
    const doc = JSON.parse(t.out()) as {
      executions: { executionId: string; complete: boolean; items: unknown[] }[];
    };
    expect(doc.executions).toHaveLength(1);
    expect(doc.executions[0]).toMatchObject({ executionId: repo.executionId, complete: true });
    expect(doc.executions[0]?.items).toHaveLength(2 * 4);
  });

  it('answers an unknown id with exit 2 and the known ids', async () => {
    const { repo } = await finishedRepo();
    await addExecution(repo, 'exec_other', {});
    const t = cli(repo.root);
    expect(await t.run(['exec_nope'])).toBe(2);
    expect(t.err()).toContain('unknown execution "exec_nope"');
    expect(t.err()).toContain(`hint: known executions: exec_other, ${repo.executionId}`);
  });

  it('never resolves an id outside the executions folder', async () => {
    const { repo } = await finishedRepo();
    const t = cli(repo.root);
    expect(await t.run(['../executions/../../..'])).toBe(2);
    expect(t.err()).toContain('unknown execution');
  });

  it('refuses an execution whose orchestrator is still running', async () => {
    const { repo, tasks } = await finishedRepo();
    await writeState(repo, tasks, {
      status: 'in_progress',
      finished_at: null,
      orchestrator_pid: process.pid,
      integration: integrationResult(['1.1', '1.2']),
    });
    const t = cli(repo.root);
    expect(await t.run([repo.executionId])).toBe(1);
    expect(t.err()).toContain(
      `execution ${repo.executionId} is still running (orchestrator pid ${process.pid})`,
    );
    expect(t.err()).toContain('hint: wait for it to finish');
    expect(await worktreePaths(repo.root)).toHaveLength(3);
  });

  it('cleans every finished execution with --all-finished and skips the rest', async () => {
    const { repo } = await finishedRepo();
    await addExecution(repo, 'exec_running', {
      status: 'in_progress',
      orchestrator_pid: process.pid,
    });
    const t = cli(repo.root);
    expect(await t.run(['--all-finished'])).toBe(0);
    expect(t.out()).toContain(`Execution ${repo.executionId}:`);
    expect(t.out()).toContain('Skipped exec_running: not finished (in_progress)');
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it('keeps a failed task and tells how to remove it', async () => {
    const repo = await makeRepo();
    cleanups.push(repo.dispose);
    const failed = await addTask(repo, { id: '5.1', status: 'failed', reason: 'agent crashed' });
    await writeState(repo, [failed], { status: 'failed' });
    const t = cli(repo.root);
    expect(await t.run([])).toBe(0);
    expect(t.out()).toContain(
      `kept    worktree .parallel-executor/worktrees/5-1 (5.1: failed (agent crashed): kept for investigation; log at ${failed.log_file})`,
    );
    expect(t.out()).toContain(
      `\`parallel-executor clean ${repo.executionId} --force\` removes them too`,
    );
    expect(existsSync(failed.worktree)).toBe(true);
    const forced = cli(repo.root);
    expect(await forced.run(['--force'])).toBe(0);
    expect(existsSync(failed.worktree)).toBe(false);
    expect(await branches(repo.root)).toEqual(['main']);
  });

  it('gives usage errors exit 2', async () => {
    const { repo } = await finishedRepo();
    expect(await cli(repo.root).run(['a', 'b'])).toBe(2);
    expect(await cli(repo.root).run([repo.executionId, '--all-finished'])).toBe(2);
    expect(await cli(repo.root).run(['--frobnicate'])).toBe(2);
    const outside = await mkdtemp(path.join(tmpdir(), 'pe-not-git-'));
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    const t = cli(outside);
    expect(await t.run([])).toBe(2);
    expect(t.err()).toContain('is not inside a git repository');
  });

  it('says so when there is no execution at all', async () => {
    const repo = await makeRepo();
    cleanups.push(repo.dispose);
    await rm(repo.executionDir, { recursive: true });
    const t = cli(repo.root);
    expect(await t.run([])).toBe(1);
    expect(t.err()).toContain('no execution found in');
    const all = cli(repo.root);
    expect(await all.run(['--all-finished'])).toBe(0);
    expect(all.out()).toBe('Nothing to clean.\n');
  });
});
