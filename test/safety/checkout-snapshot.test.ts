import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareCheckouts, snapshotCheckout } from '../../src/engine/workspace/checkout.js';
import { createTempRepo, GIT_ENV, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': 'x\n', 'a.txt': 'a\n' } });
});
afterEach(async () => {
  await repo.cleanup();
});

const compare = (before: Awaited<ReturnType<typeof snapshotCheckout>>) => async () =>
  compareCheckouts(repo.dir, before, await snapshotCheckout(repo.dir, { env: GIT_ENV }), {
    isToolRef: () => false,
    env: GIT_ENV,
  });

describe('a snapshot of the checkout', () => {
  it('asks git four times when there is no stash and nothing is uncommitted', async () => {
    const trace = `${repo.dir}-trace.json`;
    const snapshot = await snapshotCheckout(repo.dir, {
      env: { ...GIT_ENV, GIT_TRACE2_EVENT: trace },
    });
    const starts = (await readFile(trace, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"event":"start"'));
    await rm(trace, { force: true });
    // HEAD (sha and branch at once), refs, status, ignored files; the common dir is asked too.
    expect(starts.length).toBeLessThanOrEqual(5);
    expect(snapshot.headRef).toBe('refs/heads/main');
    expect(snapshot.headSha).toBe(await repo.git(['rev-parse', 'HEAD']));
    expect(snapshot.stash).toEqual([]);
    expect(Object.keys(snapshot.refs)).toEqual(['refs/heads/main']);
  });

  it('reads the stash list when there is one, and names a stash added since', async () => {
    await repo.write('a.txt', 'first\n');
    await repo.git(['stash', '-q']);
    const before = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    expect(before.stash).toHaveLength(1);
    expect(Object.keys(before.refs)).not.toContain('refs/stash');
    await repo.write('a.txt', 'second\n');
    await repo.git(['stash', '-q']);
    const changes = await compare(before)();
    expect(changes.map((change) => change.key)).toEqual(['stash']);
  });

  it('a checkout moved to a branch without commits (git checkout --orphan) is named', async () => {
    const before = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    await repo.git(['checkout', '-q', '--orphan', 'empty']);
    const after = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    expect(after.headRef).toBe('refs/heads/empty');
    expect(after.headSha).toBeNull();
    const changes = await compare(before)();
    expect(changes[0]!.text).toMatch(
      /HEAD of your checkout changed from main at \w+ to empty at no commit/,
    );
  });

  it('a detached HEAD has no branch', async () => {
    await repo.git(['checkout', '-q', '--detach']);
    const snapshot = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    expect(snapshot.headRef).toBeNull();
    expect(snapshot.headSha).toBe(await repo.git(['rev-parse', 'HEAD']));
  });

  it('a config change names the settings, never their values; comments alone are said as such', async () => {
    const before = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    expect(before.config).toBeUndefined();
    await repo.git([
      'config',
      '--local',
      'remote.origin.url',
      'https://token:secret@example.invalid/x',
    ]);
    const set = await compare(before)();
    expect(set.map((change) => change.text)).toEqual([
      expect.stringMatching(
        /git config \(.*config\) changed: remote\.origin\.url set \(your fetches and pushes go where it says\); your own git acts on it from now on: check with git config --local --list, remove one with git config --local --unset-all remote\.origin\.url$/,
      ),
    ]);
    expect(JSON.stringify(set)).not.toContain('secret');
    const middle = await snapshotCheckout(repo.dir, { env: GIT_ENV });
    const file = join(repo.dir, '.git', 'config');
    await repo.write('.git/config', `${await readFile(file, 'utf8')}# a comment\n`);
    const comment = await compare(middle)();
    expect(comment.map((change) => change.text)).toEqual([
      expect.stringMatching(/changed: comments or layout only$/),
    ]);
    // A snapshot stored by an earlier version carries its settings: they are used as they are.
    const stored = { ...middle, config: ['remote.origin.url=x', 'old.key=1'] };
    const fromStored = await compare(stored)();
    expect(fromStored[0]!.text).toMatch(/old\.key removed/);
  });
});
