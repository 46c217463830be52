import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../cli-run/helpers.js';
import { STATE_FILE } from '../../src/engine/monitor/state-store.js';
import type { TaskRun } from '../../src/engine/state/schema.js';
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

const clean = (argv: string[], cwd: string) => cli(['clean', ...argv], cwd);

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
    const t = await clean([], path.join(linked)); // the executions live in the main worktree
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`Execution ${repo.executionId}:`);
    expect(t.stdout).toMatch(
      /removed worktree \.parallel-executor\/worktrees\/1-2 \(1\.2: task finished\)/,
    );
    expect(t.stdout).toContain(`2 archive(s) in ${path.join(repo.executionDir, 'archives')}`);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);
  });

  it('cleans from a folder inside the repository', async () => {
    const { repo } = await finishedRepo();
    const sub = path.join(repo.root, 'src', 'deep');
    await mkdir(sub, { recursive: true });
    const t = await clean([], sub);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`Execution ${repo.executionId}:`);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it('prints the result as JSON', async () => {
    const { repo } = await finishedRepo();
    const t = await clean([repo.executionId, '--json'], repo.root);
    expect(t.code).toBe(0);
    const doc = JSON.parse(t.stdout) as {
      executions: { executionId: string; complete: boolean; items: unknown[] }[];
    };
    expect(doc.executions).toHaveLength(1);
    expect(doc.executions[0]).toMatchObject({ executionId: repo.executionId, complete: true });
    expect(doc.executions[0]?.items).toHaveLength(2 * 4);
  });

  it('answers an unknown id with exit 2 and the known ids', async () => {
    const { repo } = await finishedRepo();
    await addExecution(repo, 'exec_other', {});
    const t = await clean(['exec_nope'], repo.root);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('unknown execution "exec_nope"');
    expect(t.stderr).toContain(`hint: known executions: exec_other, ${repo.executionId}`);
  });

  it('never resolves an id outside the executions folder', async () => {
    const { repo } = await finishedRepo();
    const t = await clean(['../executions/../../..'], repo.root);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('unknown execution');
  });

  it('refuses an execution whose orchestrator is still running', async () => {
    const { repo, tasks } = await finishedRepo();
    await writeState(repo, tasks, {
      status: 'in_progress',
      finished_at: null,
      orchestrator_pid: process.pid,
      integration: integrationResult(['1.1', '1.2']),
    });
    const t = await clean([repo.executionId], repo.root);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain(
      `execution ${repo.executionId} is still running (orchestrator pid ${process.pid})`,
    );
    expect(t.stderr).toContain('hint: wait for it to finish');
    expect(await worktreePaths(repo.root)).toHaveLength(3);
  });

  it('cleans every finished execution with --all-finished and skips the rest', async () => {
    const { repo } = await finishedRepo();
    await addExecution(repo, 'exec_running', {
      status: 'in_progress',
      orchestrator_pid: process.pid,
    });
    const t = await clean(['--all-finished'], repo.root);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`Execution ${repo.executionId}:`);
    expect(t.stdout).toContain('Skipped exec_running: not finished (in_progress)');
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it('keeps a failed task and tells how to remove it', async () => {
    const repo = await makeRepo();
    cleanups.push(repo.dispose);
    const failed = await addTask(repo, { id: '5.1', status: 'failed', reason: 'agent crashed' });
    await writeState(repo, [failed], { status: 'failed' });
    const t = await clean([], repo.root);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(
      `kept    worktree .parallel-executor/worktrees/5-1 (5.1: failed (agent crashed): kept for investigation; log at ${failed.log_file})`,
    );
    expect(t.stdout).toContain(
      `\`parallel-executor clean ${repo.executionId} --force\` removes them too`,
    );
    expect(existsSync(failed.worktree)).toBe(true);
    const forced = await clean(['--force'], repo.root);
    expect(forced.code).toBe(0);
    expect(existsSync(failed.worktree)).toBe(false);
    expect(await branches(repo.root)).toEqual(['main']);
  });

  it('gives usage errors exit 2', async () => {
    const { repo } = await finishedRepo();
    expect((await clean(['a', 'b'], repo.root)).code).toBe(2);
    expect((await clean([repo.executionId, '--all-finished'], repo.root)).code).toBe(2);
    expect((await clean(['--frobnicate'], repo.root)).code).toBe(2);
    const outside = await mkdtemp(path.join(tmpdir(), 'pe-not-git-'));
    cleanups.push(() => rm(outside, { recursive: true, force: true }));
    const t = await clean([], outside);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('is not inside a git repository');
  });

  it('says so when there is no execution at all', async () => {
    const repo = await makeRepo();
    cleanups.push(repo.dispose);
    await rm(repo.executionDir, { recursive: true });
    const t = await clean([], repo.root);
    expect(t.code).toBe(1);
    expect(t.stderr).toContain('no execution found in');
    const all = await clean(['--all-finished'], repo.root);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('Nothing to clean.\n');
  });
});
