import { afterEach } from 'vitest';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STATE_FILE } from '../../src/engine/monitor/state-store.js';
import { ExecutionState, type TaskRun } from '../../src/engine/state/schema.js';
import { git } from '../../src/engine/workspace/git-exec.js';

/** Real git with a fixed identity, no signing, no background gc, no user or system config. */
export const TEST_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2025-11-29T14:00:00Z',
  GIT_COMMITTER_DATE: '2025-11-29T14:00:00Z',
};

export async function run(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await git(cwd, ['-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', ...args], {
    env: TEST_ENV,
  });
  return stdout.trim();
}

export interface TestRepo {
  /** Holds the repository and anything else the test writes; removed by `dispose`. */
  base: string;
  root: string;
  executionId: string;
  executionDir: string;
  dispose: () => Promise<void>;
}

/**
 * Registers an `afterEach` that disposes of every repository the returned function made in the
 * test (each made by `makeRepo`).
 */
export function useRepos(): (executionId?: string) => Promise<TestRepo> {
  const repos: TestRepo[] = [];
  afterEach(async () => {
    await Promise.all(repos.splice(0).map((repo) => repo.dispose()));
  });
  return async (executionId) => {
    const repo = await makeRepo(executionId);
    repos.push(repo);
    return repo;
  };
}

export async function makeRepo(executionId = 'exec_20251129_140000'): Promise<TestRepo> {
  const base = await realpath(await mkdtemp(path.join(tmpdir(), 'pe-cleanup-')));
  const root = path.join(base, 'repo');
  await mkdir(root);
  await run(root, ['init', '-q', '-b', 'main']);
  await writeFile(path.join(root, 'README.md'), '# sample\n');
  await writeFile(path.join(root, '.gitignore'), '.parallel-executor/\n');
  await run(root, ['add', '-A']);
  await run(root, ['commit', '-q', '-m', 'initial']);
  const executionDir = path.join(root, '.parallel-executor', 'executions', executionId);
  await mkdir(executionDir, { recursive: true });
  return {
    base,
    root,
    executionId,
    executionDir,
    dispose: () => rm(base, { recursive: true, force: true }),
  };
}

export interface TaskSpec {
  id: string;
  status?: TaskRun['status'];
  /** Create a worktree and branch with one commit (default true). */
  worktree?: boolean;
  reason?: string | null;
}

/** A task's worktree, branch with one commit of its own file, log file and output folder. */
export async function addTask(repo: TestRepo, spec: TaskSpec): Promise<TaskRun> {
  const slug = spec.id.replace(/\W/g, '-');
  const worktree = path.join(repo.root, '.parallel-executor', 'worktrees', slug);
  const branch = `agent/builder/${slug}`;
  if (spec.worktree ?? true) {
    await run(repo.root, ['worktree', 'add', '-q', '-b', branch, worktree, 'main']);
    await writeFile(path.join(worktree, `${slug}.txt`), `work of ${spec.id}\n`);
    await run(worktree, ['add', '-A']);
    await run(worktree, ['commit', '-q', '-m', `task ${spec.id}`]);
  }
  const logFile = path.join(repo.executionDir, 'logs', `${spec.id}.log`);
  const outputDir = path.join(repo.executionDir, 'outputs', spec.id);
  await mkdir(path.dirname(logFile), { recursive: true });
  await mkdir(outputDir, { recursive: true });
  await writeFile(logFile, `log of ${spec.id}\n`);
  await writeFile(path.join(outputDir, 'changes.diff'), `diff of ${spec.id}\n`);
  const status = spec.status ?? 'completed';
  return {
    task_id: spec.id,
    task: `Task ${spec.id}`,
    agent: 'builder',
    agents: ['builder'],
    group: '1',
    depends_on: [],
    estimate_hours: 1,
    status,
    progress_percent: status === 'completed' ? 100 : 30,
    current_step: null,
    started_at: '2025-11-29T14:00:01.000Z',
    finished_at: '2025-11-29T14:00:09.000Z',
    worktree,
    branch,
    start_sha: null,
    head_sha: null,
    pid: null,
    attempts: 1,
    exit_code: status === 'failed' ? 1 : 0,
    reason: spec.reason ?? (status === 'failed' ? 'agent exited with code 1' : null),
    log_file: logFile,
    output_dir: outputDir,
    port: 3100,
    metrics: null,
    validation: null,
  };
}

/** `integration/g1` from main with these task branches merged (--no-ff), main checked out again. */
export async function integrate(repo: TestRepo, tasks: readonly TaskRun[]): Promise<void> {
  await run(repo.root, ['switch', '-q', '-c', 'integration/g1', 'main']);
  for (const task of tasks) {
    await run(repo.root, [
      'merge',
      '-q',
      '--no-ff',
      '-m',
      `Integrate ${task.task_id}`,
      task.branch,
    ]);
  }
  await run(repo.root, ['switch', '-q', 'main']);
}

export async function writeState(
  repo: TestRepo,
  tasks: readonly TaskRun[],
  overrides: Partial<ExecutionState> = {},
): Promise<ExecutionState> {
  const baseSha = await run(repo.root, ['rev-parse', 'main']);
  const state = ExecutionState.parse({
    version: 1,
    execution_id: repo.executionId,
    plan_file: 'MULTI_AGENT_PLAN.md',
    plan_title: 'Sample',
    parallel_group: '1',
    repo_root: repo.root,
    base_ref: 'main',
    base_sha: baseSha,
    started_at: '2025-11-29T14:00:00.000Z',
    finished_at: '2025-11-29T14:00:10.000Z',
    status: 'completed',
    orchestrator_pid: null,
    tasks: Object.fromEntries(tasks.map((task) => [task.task_id, task])),
    task_order: tasks.map((task) => task.task_id),
    completed_tasks: tasks.filter((t) => t.status === 'completed').map((t) => t.task_id),
    failed_tasks: tasks.filter((t) => t.status === 'failed').map((t) => t.task_id),
    messages: [],
    integration: null,
    report_path: null,
    ...overrides,
  });
  await writeFile(path.join(repo.executionDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

export function integrationResult(
  merged: string[],
  extra: Partial<NonNullable<ExecutionState['integration']>> = {},
): NonNullable<ExecutionState['integration']> {
  return {
    strategy: 'batch-bisect',
    branch: 'integration/g1',
    baseSha: '0'.repeat(40),
    headSha: '0'.repeat(40),
    merged,
    conflicts: [],
    dropped: [],
    predictedConflicts: [],
    testRuns: 1,
    testsPassed: true,
    testCommand: 'npm test',
    ...extra,
  };
}

export async function branches(root: string): Promise<string[]> {
  const out = await run(root, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/']);
  return out.split('\n').filter((line) => line !== '');
}

export async function worktreePaths(root: string): Promise<string[]> {
  const out = await run(root, ['worktree', 'list', '--porcelain']);
  return out
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}
