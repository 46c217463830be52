/**
 * What pre-flight learns of the repository (HEAD, its branch, the common git dir) from one
 * rev-parse, and the same answers where that one question does not fit (a file called HEAD, an
 * unborn branch, HEAD pointing outside refs/heads).
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PreflightError } from '../../src/engine/errors.js';
import { inspectRepo } from '../../src/engine/workspace/repo.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo | null = null;
const extra: string[] = [];
afterEach(async () => {
  await repo?.cleanup();
  repo = null;
  for (const dir of extra.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('inspectRepo', () => {
  it('names the branch (slashes kept), HEAD and the absolute common dir; detached has no branch', async () => {
    repo = await createTempRepo({ branch: 'feat/heads/x' });
    const head = await repo.git(['rev-parse', 'HEAD']);
    await repo.write('dirty.txt', 'not committed\n');
    expect(await inspectRepo(repo.dir)).toEqual({
      root: repo.dir,
      branch: 'feat/heads/x',
      headSha: head,
      dirtyFiles: ['dirty.txt'],
      commonDir: join(repo.dir, '.git'),
    });
    await repo.git(['checkout', '-q', '--detach']);
    expect(await inspectRepo(repo.dir)).toMatchObject({ branch: null, headSha: head });
  });

  it('gives the same answers with a file called HEAD in the checkout, and in a linked worktree', async () => {
    repo = await createTempRepo({ files: { HEAD: 'a file, not a ref\n' } });
    const head = await repo.git(['rev-parse', 'HEAD']);
    expect(await inspectRepo(repo.dir)).toMatchObject({
      branch: 'main',
      headSha: head,
      commonDir: join(repo.dir, '.git'),
    });
    const linked = await realpath(await mkdtemp(join(tmpdir(), 'pe-linked-')));
    extra.push(linked);
    await repo.git(['worktree', 'add', '-q', '-b', 'side', join(linked, 'wt')]);
    expect(await inspectRepo(join(linked, 'wt'))).toMatchObject({
      branch: 'side',
      headSha: head,
      commonDir: join(repo.dir, '.git'),
    });
  });

  it('refuses a repository with no commit, and reads a HEAD that names a ref outside refs/heads', async () => {
    repo = await createTempRepo();
    const head = await repo.git(['rev-parse', 'HEAD']);
    await repo.git(['update-ref', 'refs/remotes/origin/main', head]);
    await repo.git(['symbolic-ref', 'HEAD', 'refs/remotes/origin/main']);
    expect(await inspectRepo(repo.dir)).toMatchObject({
      branch: 'origin/main',
      headSha: head,
    });
    await repo.git(['symbolic-ref', 'HEAD', 'refs/heads/unborn']);
    await expect(inspectRepo(repo.dir)).rejects.toThrow(PreflightError);
    await expect(inspectRepo(repo.dir)).rejects.toThrow(/no commit yet/);
  });
});
