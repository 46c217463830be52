import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { IntegrationResult } from '../../src/engine/integrate/schema.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import type { RepoFixture } from './fixture.js';

/** Make the user's checkout busy: an edit, a staged file, an untracked file. */
export async function dirtyUserCheckout(repo: RepoFixture): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.writeFile(join(repo.root, 'shared.txt'), 'the user is editing this\n');
  await fs.writeFile(join(repo.root, 'staged.txt'), 'staged by the user\n');
  await repo.git(['add', 'staged.txt']);
  await fs.writeFile(join(repo.root, 'notes.txt'), 'untracked\n');
}

export interface CheckoutState {
  head: string;
  branch: string;
  status: string;
  staged: string;
  shared: string;
}

export async function userCheckout(repo: RepoFixture): Promise<CheckoutState> {
  return {
    head: await repo.git(['rev-parse', 'HEAD']),
    branch: await repo.git(['symbolic-ref', 'HEAD']),
    status: await repo.git(['status', '--porcelain', '--untracked-files=all']),
    staged: await repo.git(['diff', '--cached']),
    shared: await readFile(join(repo.root, 'shared.txt'), 'utf8'),
  };
}

/**
 * The integration branch is whole: it is the result's head; its first-parent history from the
 * base is exactly one --no-ff merge per merged task, in order, with the agreed message; no file
 * holds a conflict marker; the files under src/ are the base's plus the merged tasks'; and the
 * integration worktree is gone.
 */
export async function expectWholeBranch(
  repo: RepoFixture,
  result: IntegrationResult,
  agents: Record<string, string>,
): Promise<void> {
  expect(await repo.git(['rev-parse', result.branch])).toBe(result.headSha);
  const history = await repo.git([
    'rev-list',
    '--first-parent',
    '--reverse',
    '--parents',
    `${result.baseSha}..${result.branch}`,
  ]);
  const commits = history === '' ? [] : history.split('\n').map((line) => line.split(' '));
  expect(commits).toHaveLength(result.merged.length);
  for (const [index, taskId] of result.merged.entries()) {
    const [commit, ...parents] = commits[index]!;
    expect(parents).toHaveLength(2);
    const subject = await repo.git(['log', '-1', '--format=%s', commit!]);
    expect(subject).toBe(`Integrate task ${taskId} (${agents[taskId]}): task/${taskId}`);
  }
  const markers = await git(repo.root, ['grep', '-l', '-e', '<<<<<<<', result.branch], {
    env: repo.env,
    allowExitCodes: [1],
  });
  expect(markers.stdout).toBe('');
  const files = (await repo.git(['ls-tree', '-r', '--name-only', result.branch, 'src/'])).split(
    '\n',
  );
  expect(files.sort()).toEqual(
    ['src/base.txt', ...result.merged.map((id) => `src/${id}.txt`)].sort(),
  );
  const worktrees = await repo.git(['worktree', 'list', '--porcelain']);
  expect(worktrees.match(/^worktree /gm)).toHaveLength(1);
}
