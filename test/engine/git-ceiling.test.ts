import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git } from '../../src/engine/workspace/git-exec.js';
import { findRepoRoot } from '../../src/engine/workspace/repo.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': 'the user was here\n' } });
});
afterEach(async () => {
  await repo.cleanup();
});

describe("the tool's git never looks above the folder it runs in", () => {
  it("fails in a task worktree whose .git is gone instead of acting on the user's checkout above it", async () => {
    const worktree = join(repo.dir, '.parallel-executor', 'worktrees', 'exec', 'task');
    await repo.git(['worktree', 'add', '-q', '-b', 'agent/task', worktree]);
    const before = await repo.git(['symbolic-ref', 'HEAD']);
    // What an agent's `rm .git` leaves: a folder inside the user's checkout, no repository of its own.
    await rm(join(worktree, '.git'));
    await expect(
      git(worktree, ['checkout', '--quiet', '--force', '-B', 'agent/task']),
    ).rejects.toThrow(/not a git repository/);
    await expect(git(worktree, ['clean', '-ffdxq'])).rejects.toThrow(/not a git repository/);
    expect(await repo.git(['symbolic-ref', 'HEAD'])).toBe(before);
    expect(await repo.git(['status', '--porcelain'])).not.toContain('README.md');
  });

  it('still finds the repository from a folder inside it when asked to (the user running from a subfolder)', async () => {
    const sub = join(repo.dir, 'src', 'deep');
    await repo.write('src/deep/file.txt', 'x\n');
    expect(await findRepoRoot(sub)).toBe(repo.dir);
  });
});
