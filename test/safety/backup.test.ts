import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attemptRef,
  keepAttempt,
  nextAttemptNumber,
  snapshotWorktree,
} from '../../src/engine/workspace/backup.js';
import { DEFAULT_IDENTITY } from '../../src/engine/workspace/identity.js';
import { createTempRepo, gitTestEnv, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

describe('keeping an attempt under a named ref', () => {
  it('snapshots uncommitted and untracked changes without touching the index, the worktree or any branch', async () => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n', '.gitignore': 'ignored/\n' } });
    const head = await repo.git(['rev-parse', 'HEAD']);
    await repo.write('a.txt', 'changed\n');
    await repo.write('new/file.txt', 'new\n');
    await repo.write('ignored/big.bin', 'x');
    await repo.git(['add', 'a.txt']);
    const statusBefore = await repo.git(['status', '--porcelain']);
    const snap = await snapshotWorktree(repo.dir, gitTestEnv(), DEFAULT_IDENTITY, 'test');
    expect(snap).not.toBeNull();
    expect(snap!.dirty).toBe(true);
    expect(snap!.head).toBe(head);
    expect(await repo.git(['status', '--porcelain'])).toBe(statusBefore);
    expect(await repo.git(['rev-parse', 'HEAD'])).toBe(head);
    expect(await repo.git(['show', `${snap!.sha}:a.txt`])).toBe('changed');
    expect(await repo.git(['show', `${snap!.sha}:new/file.txt`])).toBe('new');
    const tree = await repo.git(['ls-tree', '-r', '--name-only', snap!.sha]);
    expect(tree).not.toContain('ignored/');
  });

  it('a clean worktree is its HEAD; the task branch is kept too when HEAD left it behind', async () => {
    repo = await createTempRepo();
    await repo.git(['checkout', '-q', '-b', 'task']);
    await repo.write('t.txt', 't\n');
    const taskTip = await repo.commit('task work');
    await repo.git(['checkout', '-q', '--detach', 'HEAD~1']);
    await repo.write('d.txt', 'd\n');
    const detached = await repo.commit('detached work');
    const ref = attemptRef('exec_1', 'Task 1.1', 1);
    expect(ref).toBe('refs/parallel-executor/exec_1/Task-1.1/attempt-1');
    const kept = await keepAttempt({
      repoRoot: repo.dir,
      worktree: repo.dir,
      branch: 'task',
      ref,
      env: gitTestEnv(),
      identity: DEFAULT_IDENTITY,
      why: 'test',
    });
    expect(kept).toMatchObject({ ref, sha: detached, dirty: false, branchRef: `${ref}-branch` });
    expect(await repo.git(['rev-parse', `${ref}-branch`])).toBe(taskTip);
    expect(await nextAttemptNumber(repo.dir, 'exec_1', 'Task 1.1')).toBe(2);
  });

  it('keeps the branch tip alone when the worktree is gone', async () => {
    repo = await createTempRepo();
    await repo.git(['branch', 'task']);
    const kept = await keepAttempt({
      repoRoot: repo.dir,
      worktree: join(repo.dir, 'no-such-worktree'),
      branch: 'task',
      ref: attemptRef('e', 't', 3),
      env: gitTestEnv(),
      identity: DEFAULT_IDENTITY,
      why: 'test',
    });
    expect(kept?.sha).toBe(await repo.git(['rev-parse', 'task']));
    expect(kept?.dirty).toBe(false);
  });

  it('takes a nested repository in as files (committed, uncommitted, and one with no commit yet)', async () => {
    repo = await createTempRepo();
    const head = await repo.git(['rev-parse', 'HEAD']);
    const env = gitTestEnv();
    await repo.write('lib/sub/a.txt', 'committed in sub\n');
    await repo.git(['init', '-q'], join(repo.dir, 'lib/sub'));
    await repo.git(['add', '-A'], join(repo.dir, 'lib/sub'));
    await repo.git(['commit', '-qm', 'sub'], join(repo.dir, 'lib/sub'));
    await repo.write('lib/sub/b.txt', 'uncommitted in sub\n');
    await repo.write('empty/c.txt', 'in a repo with no commit\n');
    await repo.git(['init', '-q'], join(repo.dir, 'empty'));
    const snap = await snapshotWorktree(repo.dir, env, DEFAULT_IDENTITY, 'test');
    expect(snap?.dirty).toBe(true);
    expect(await repo.git(['rev-parse', 'HEAD'])).toBe(head);
    expect(await repo.git(['show', `${snap!.sha}:lib/sub/a.txt`])).toBe('committed in sub');
    expect(await repo.git(['show', `${snap!.sha}:lib/sub/b.txt`])).toBe('uncommitted in sub');
    expect(await repo.git(['show', `${snap!.sha}:empty/c.txt`])).toBe('in a repo with no commit');
    // No gitlink: every entry is a file.
    const modes = await repo.git(['ls-tree', '-r', snap!.sha]);
    expect(modes).not.toContain('160000');
  });
  it('takes a gitlink the agent committed or staged in as files; the submodules of the start stay links', async () => {
    repo = await createTempRepo();
    const env = gitTestEnv();
    // The project's own: a gitlink of the start commit, its repository checked out there.
    await repo.write('vendor/lib/v.txt', 'vendored\n');
    await repo.git(['init', '-q'], join(repo.dir, 'vendor/lib'));
    await repo.git(['add', '-A'], join(repo.dir, 'vendor/lib'));
    await repo.git(['commit', '-qm', 'lib'], join(repo.dir, 'vendor/lib'));
    await repo.git(['add', 'vendor/lib']);
    const start = await repo.commit('the project with its submodule');
    // The agent: `git init` of its own, committed inside, then `git add -A && git commit` outside.
    await repo.write('sub/file.txt', 'only in the nested repository\n');
    await repo.git(['init', '-q'], join(repo.dir, 'sub'));
    await repo.git(['add', '-A'], join(repo.dir, 'sub'));
    await repo.git(['commit', '-qm', 'inside'], join(repo.dir, 'sub'));
    await repo.git(['add', '-A']);
    const head = await repo.commit('the agent commits the link');
    // And one only staged.
    await repo.write('staged/s.txt', 'staged link\n');
    await repo.git(['init', '-q'], join(repo.dir, 'staged'));
    await repo.git(['add', '-A'], join(repo.dir, 'staged'));
    await repo.git(['commit', '-qm', 'inside'], join(repo.dir, 'staged'));
    await repo.git(['add', 'staged']);
    const snap = await snapshotWorktree(repo.dir, env, DEFAULT_IDENTITY, 'test', [], start);
    expect(snap?.dirty).toBe(true);
    expect(await repo.git(['rev-parse', 'HEAD'])).toBe(head);
    expect(await repo.git(['show', `${snap!.sha}:sub/file.txt`])).toBe(
      'only in the nested repository',
    );
    expect(await repo.git(['show', `${snap!.sha}:staged/s.txt`])).toBe('staged link');
    const modes = await repo.git(['ls-tree', '-r', snap!.sha]);
    expect(modes).toMatch(/^160000 commit \w+\tvendor\/lib$/m);
    expect(modes).not.toMatch(/\t(sub|staged)$/m);
    // The worktree's own index still holds the staged link: nothing of the agent's state moved.
    expect(await repo.git(['ls-files', '--stage', 'staged'])).toMatch(/^160000 /);
  });
});
