import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveTaskOutputs } from '../../src/engine/cleanup/archive.js';
import { cleanupExecution, type CleanupItem } from '../../src/engine/cleanup/cleanup.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import {
  addTask,
  branches,
  integrate,
  integrationResult,
  useRepos,
  TEST_ENV,
  worktreePaths,
  writeState,
  type TestRepo,
} from './repo.js';

const newRepo = useRepos();

function tarList(archive: string): string[] {
  const result = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

function find(items: CleanupItem[], taskId: string, kind: CleanupItem['kind']): CleanupItem[] {
  return items.filter((item) => item.taskId === taskId && item.kind === kind);
}

describe('cleanupExecution on a successful execution', () => {
  it('archives logs and outputs, removes every worktree and deletes the merged branches', async () => {
    const repo = await newRepo();
    const tasks = [
      await addTask(repo, { id: '1.1' }),
      await addTask(repo, { id: '1.2' }),
      await addTask(repo, { id: '1.3' }),
    ];
    await integrate(repo, tasks);
    const state = await writeState(repo, tasks, {
      integration: integrationResult(['1.1', '1.2', '1.3']),
    });
    expect(await worktreePaths(repo.root)).toHaveLength(4);

    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });

    expect(result.errors).toBe(0);
    expect(result.complete).toBe(true);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);
    for (const task of tasks) {
      expect(existsSync(task.worktree)).toBe(false);
      expect(existsSync(task.log_file)).toBe(false);
      expect(existsSync(task.output_dir)).toBe(false);
      expect(find(result.items, task.task_id, 'branch')[0]?.reason).toMatch(
        /^merged into integration\/g1 \(was [0-9a-f]{7}\)$/,
      );
    }
    expect(result.archives.map((entry) => path.basename(entry.archive ?? ''))).toEqual([
      '1.1_builder.tar.gz',
      '1.2_builder.tar.gz',
      '1.3_builder.tar.gz',
    ]);
    const archive = path.join(repo.executionDir, 'archives', '1.2_builder.tar.gz');
    expect(tarList(archive)).toEqual(['./1.2.log', './1.2/', './1.2/changes.diff']);
    const extracted = spawnSync('tar', ['-xOzf', archive, './1.2/changes.diff'], {
      encoding: 'utf8',
    });
    expect(extracted.stdout).toBe('diff of 1.2\n');
  });

  it('keeps the integration branch until it is merged into the base, then a clean deletes it', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' }), await addTask(repo, { id: '1.2' })];
    await integrate(repo, tasks);
    const head = (
      await git(repo.root, ['rev-parse', 'integration/g1'], { env: TEST_ENV })
    ).stdout.trim();
    const state = await writeState(repo, tasks, {
      integration: integrationResult(['1.1', '1.2'], { headSha: head }),
    });
    const clean = () =>
      cleanupExecution(state, {
        repoRoot: repo.root,
        executionDir: repo.executionDir,
        env: TEST_ENV,
      });

    const first = await clean();
    expect(first.items.filter((item) => item.integration !== undefined)).toEqual([]);
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);

    // The user merges it; their next clean of the execution tidies the branch away.
    await git(repo.root, ['merge', '-q', '--ff-only', 'integration/g1'], { env: TEST_ENV });
    const second = await clean();
    expect(second.items.filter((item) => item.integration !== undefined)).toEqual([
      {
        taskId: 'integration',
        integration: 'current',
        kind: 'branch',
        target: 'integration/g1',
        action: 'removed',
        reason: `merged into main (was ${head.slice(0, 7)})`,
      },
    ]);
    expect(await branches(repo.root)).toEqual(['main']);
  });

  it('is idempotent: a second run finds everything already gone', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' })];
    await integrate(repo, tasks);
    const state = await writeState(repo, tasks, { integration: integrationResult(['1.1']) });
    await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    const again = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(again.errors).toBe(0);
    expect(again.items.map((item) => item.action)).toEqual([
      'absent',
      'absent',
      'absent',
      'absent',
    ]);
    expect(again.archives[0]?.note).toBe('already archived');
  });

  it('counts a branch merged into the base (integration branch deleted after merging) as merged', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' })];
    await integrate(repo, tasks);
    const { run } = await import('./repo.js');
    await run(repo.root, ['merge', '-q', '--ff-only', 'integration/g1']);
    await run(repo.root, ['branch', '-q', '-D', 'integration/g1']);
    const state = await writeState(repo, tasks, { integration: integrationResult(['1.1']) });
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(find(result.items, '1.1', 'branch')[0]).toMatchObject({ action: 'removed' });
    expect(find(result.items, '1.1', 'branch')[0]?.reason).toMatch(/^merged into main/);
    expect(await branches(repo.root)).toEqual(['main']);
  });
});

describe("the hold on the start's branch tips", () => {
  // `run` holds the branch tips and stash entries of its start under one ref for as long as an
  // agent could delete them; it stayed after every clean, a commit with every branch as a parent.
  const hold = (repo: TestRepo) => `refs/parallel-executor/${repo.executionId}/checkout/at-start`;
  const held = async (repo: TestRepo) =>
    spawnSync('git', ['rev-parse', '--verify', '--quiet', hold(repo)], { cwd: repo.root })
      .status === 0;

  it('goes with a clean that leaves nothing of the execution', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' })];
    await integrate(repo, tasks);
    const state = await writeState(repo, tasks, { integration: integrationResult(['1.1']) });
    spawnSync('git', ['update-ref', hold(repo), 'HEAD'], { cwd: repo.root });
    expect(await held(repo)).toBe(true);
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(result.complete).toBe(true);
    expect(await held(repo)).toBe(false);
  });

  it('stays while a task is kept (a resume can still run)', async () => {
    const repo = await newRepo();
    const failed = await addTask(repo, { id: '1.1', status: 'failed', reason: 'tests failed' });
    const state = await writeState(repo, [failed], { status: 'failed' });
    spawnSync('git', ['update-ref', hold(repo), 'HEAD'], { cwd: repo.root });
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(result.complete).toBe(false);
    expect(await held(repo)).toBe(true);
  });
});

describe('cleanupExecution on a failed execution', () => {
  async function failedExecution(repo: TestRepo) {
    const merged = await addTask(repo, { id: '2.1' });
    const failed = await addTask(repo, {
      id: '2.2',
      status: 'failed',
      reason: 'tests failed: 3 of 12',
    });
    const conflicted = await addTask(repo, { id: '2.3' });
    const skipped = await addTask(repo, {
      id: '2.4',
      status: 'skipped',
      worktree: false,
      reason: 'dependency 2.2 failed',
    });
    await integrate(repo, [merged]);
    const state = await writeState(repo, [merged, failed, conflicted, skipped], {
      status: 'failed',
      integration: integrationResult(['2.1'], {
        conflicts: [{ taskId: '2.3', files: ['shared.ts'], with: ['2.1'] }],
      }),
    });
    return { state, merged, failed, conflicted, skipped };
  }

  it('keeps what explains the failure and says where it is', async () => {
    const repo = await newRepo();
    const { state, merged, failed, conflicted } = await failedExecution(repo);

    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });

    expect(result.errors).toBe(0);
    expect(result.complete).toBe(false);
    expect(existsSync(merged.worktree)).toBe(false);
    expect(existsSync(failed.worktree)).toBe(true);
    expect(existsSync(failed.log_file)).toBe(true);
    expect(existsSync(conflicted.worktree)).toBe(true);
    expect((await worktreePaths(repo.root)).sort()).toEqual(
      [repo.root, failed.worktree, conflicted.worktree].sort(),
    );
    expect(await branches(repo.root)).toEqual([
      'agent/builder/2-2',
      'agent/builder/2-3',
      'integration/g1',
      'main',
    ]);

    const keptFailed = find(result.items, '2.2', 'worktree')[0];
    expect(keptFailed?.action).toBe('kept');
    expect(keptFailed?.reason).toBe(
      `failed (tests failed: 3 of 12): kept for investigation; log at ${failed.log_file}`,
    );
    expect(find(result.items, '2.3', 'branch')[0]?.reason).toBe(
      'merge conflict with 2.1 in shared.ts: kept for a manual merge',
    );
    // The skipped task had no worktree; its outputs are archived and removed.
    expect(find(result.items, '2.4', 'worktree')[0]?.action).toBe('absent');
    expect(find(result.items, '2.4', 'outputs').map((item) => item.action)).toEqual([
      'removed',
      'removed',
    ]);
    expect(result.archives.map((entry) => entry.taskId)).toEqual(['2.1', '2.4']);
  });

  it('removes everything, unmerged branches included, with force', async () => {
    const repo = await newRepo();
    const { state, failed } = await failedExecution(repo);
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
      force: true,
    });
    expect(result.errors).toBe(0);
    expect(result.complete).toBe(true);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);
    expect(find(result.items, '2.2', 'branch')[0]?.reason).toMatch(
      /^not merged; deleted because of --force/,
    );
    expect(existsSync(path.join(repo.executionDir, 'archives', '2.2_builder.tar.gz'))).toBe(true);
    expect(existsSync(failed.log_file)).toBe(false);
  });
});

describe('cleanupExecution without integration', () => {
  it('removes worktrees but never deletes an unmerged branch', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '3.1' })];
    const state = await writeState(repo, tasks);
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(find(result.items, '3.1', 'worktree')[0]?.action).toBe('removed');
    expect(find(result.items, '3.1', 'branch')[0]).toMatchObject({
      action: 'kept',
      reason: 'not merged into main; kept so its commits are not lost (--force deletes it)',
    });
    expect(await branches(repo.root)).toEqual(['agent/builder/3-1', 'main']);
  });

  it('keeps unmerged tasks whole with onlyMerged', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '3.1' })];
    const state = await writeState(repo, tasks);
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
      onlyMerged: true,
    });
    expect(result.items.filter((item) => item.taskId === '3.1').map((item) => item.action)).toEqual(
      ['kept', 'kept', 'kept', 'kept'],
    );
    expect(existsSync(tasks[0]?.worktree ?? '')).toBe(true);
  });

  it('keeps an unfinished task of a crashed execution for resume', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '3.2', status: 'in_progress' })];
    const state = await writeState(repo, tasks, { status: 'in_progress', finished_at: null });
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(find(result.items, '3.2', 'worktree')[0]).toMatchObject({
      action: 'kept',
      reason: `unfinished (in_progress): \`parallel-executor resume ${repo.executionId}\` continues it`,
    });
    expect(existsSync(tasks[0]?.worktree ?? '')).toBe(true);
  });

  it('leaves a branch that is checked out elsewhere', async () => {
    const repo = await newRepo();
    const task = await addTask(repo, { id: '3.3' });
    const { run } = await import('./repo.js');
    await run(repo.root, ['worktree', 'remove', task.worktree]);
    await run(repo.root, ['merge', '-q', '--no-ff', '-m', 'merge', task.branch]);
    const other = path.join(repo.base, 'elsewhere');
    await run(repo.root, ['worktree', 'add', '-q', other, task.branch]);
    const state = await writeState(repo, [task]);
    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });
    expect(find(result.items, '3.3', 'branch')[0]).toMatchObject({
      action: 'kept',
      reason: `checked out in ${other}`,
    });
  });
});

describe('archiveTaskOutputs', () => {
  it('archives names that look like options and leaves the originals', async () => {
    const repo = await newRepo();
    const task = await addTask(repo, { id: '4.1', worktree: false });
    // A top-level name tar would read as options (-r -f) if it were passed bare.
    task.log_file = path.join(repo.executionDir, 'logs', '-rf.log');
    await writeFile(task.log_file, 'log\n');
    await writeFile(path.join(task.output_dir, '-rf'), 'not an option\n');
    await mkdir(path.join(task.output_dir, '--checkpoint-action=exec=touch pwned'), {
      recursive: true,
    });
    const state = await writeState(repo, [task]);
    const [result] = await archiveTaskOutputs(state, repo.executionDir);
    expect(result?.archive).toBe(path.join(repo.executionDir, 'archives', '4.1_builder.tar.gz'));
    expect(tarList(result?.archive ?? '')).toEqual([
      './-rf.log',
      './4.1/',
      './4.1/--checkpoint-action=exec=touch pwned/',
      './4.1/-rf',
      './4.1/changes.diff',
    ]);
    expect(existsSync(path.join(repo.executionDir, 'archives', 'pwned'))).toBe(false);
    expect(existsSync(task.log_file)).toBe(true);
  });
});
