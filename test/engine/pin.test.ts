import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pinRef, readPin, startPinning, type PinInput } from '../../src/engine/run/pin.js';
import { DEFAULT_IDENTITY } from '../../src/engine/workspace/identity.js';
import { createTempRepo, gitTestEnv, type TempRepo } from '../support/git-repo.js';

/**
 * The pin of a running agent's commits (run/pin.ts), on a real worktree: it takes what is
 * committed after it starts, from HEAD's and the branch's reflogs, and only commits, however the
 * agent forges those files.
 */

let repo: TempRepo;
let worktree: string;
let admin: string;
let start: string;
const ref = pinRef('exec', 'a');

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
  start = await repo.git(['rev-parse', 'HEAD']);
  worktree = `${repo.dir}-wt`;
  await repo.git(['worktree', 'add', '-q', '-b', 'pe/exec/a', worktree]);
  admin = join(repo.dir, '.git', 'worktrees', basename(worktree));
});

afterEach(async () => {
  await rm(worktree, { recursive: true, force: true });
  await repo.cleanup();
});

function input(extra: Partial<PinInput> = {}): PinInput & { full: string[]; errors: unknown[] } {
  const full: string[] = [];
  const errors: unknown[] = [];
  return {
    repoRoot: repo.dir,
    admin,
    branch: 'pe/exec/a',
    ref,
    env: gitTestEnv(),
    identity: DEFAULT_IDENTITY,
    skip: [start],
    onFull: (message) => full.push(message),
    onError: (error) => errors.push(error),
    full,
    errors,
    ...extra,
  };
}

async function commitIn(message: string, amend = false): Promise<string> {
  await appendFile(join(worktree, 'a.txt'), `${message}\n`);
  await repo.git(['add', 'a.txt'], worktree);
  await repo.git(['commit', '-q', ...(amend ? ['--amend'] : []), '-m', message], worktree);
  return repo.git(['rev-parse', 'HEAD'], worktree);
}

describe('pinning a running agent’s commits', () => {
  it('pins each commit made after it started, the one amended away included', async () => {
    const before = await commitIn('before');
    const pinner = await startPinning(input());
    const one = await commitIn('one');
    const amended = await commitIn('one, amended', true);
    await pinner.stop();
    const pin = await readPin(repo.dir, ref, gitTestEnv());
    expect(new Set(pin?.commits)).toEqual(new Set([one, amended]));
    expect(pin?.commits).not.toContain(before);
    expect(pin?.commits).not.toContain(start);
  });

  it('survives reflog expire: what it pinned stays after gc --prune=now', async () => {
    const pinner = await startPinning(input());
    const one = await commitIn('one');
    await commitIn('one, amended', true);
    await pinner.stop();
    await repo.git(['reflog', 'expire', '--expire=now', '--all']);
    await repo.git(['gc', '-q', '--prune=now']);
    expect(await repo.git(['cat-file', '-t', one])).toBe('commit');
  });

  it('pins only ids that are commits, whatever the agent writes in the reflog', async () => {
    const pinner = await startPinning(input());
    const blob = await repo.git(['hash-object', '-w', 'a.txt'], worktree);
    const tree = await repo.git(['rev-parse', 'HEAD^{tree}'], worktree);
    const real = await repo.git(['commit-tree', tree, '-m', 'forged into the reflog'], worktree);
    const made = '0123456789abcdef0123456789abcdef01234567';
    const lines = [
      `${made} ${tree} x <x> 1 +0000\tforged: a tree`,
      `${made} ${blob} x <x> 1 +0000\tforged: a blob`,
      `${real} ${made} x <x> 1 +0000\tforged: no such object`,
      `${blob} ${real} x <x> 1 +0000\tforged: a commit`,
      `$(touch ${join(repo.dir, 'pwned')}) ${made} x\tnot a reflog line`,
      'garbage without ids',
    ];
    await appendFile(join(admin, 'logs', 'HEAD'), `${lines.join('\n')}\n`);
    await pinner.stop();
    expect((await readPin(repo.dir, ref, gitTestEnv()))?.commits).toEqual([real]);
    expect(existsSync(join(repo.dir, 'pwned'))).toBe(false);
  });

  it('pins no more than its cap, and says so once', async () => {
    const i = input({ max: 2 });
    const pinner = await startPinning(i);
    const made = [await commitIn('one'), await commitIn('two'), await commitIn('three')];
    await commitIn('four');
    await pinner.stop();
    expect((await readPin(repo.dir, ref, gitTestEnv()))?.commits).toEqual(made.slice(0, 2));
    expect(i.full).toHaveLength(1);
    expect(i.full[0]).toMatch(/more than 2 commits/);
  });

  it('is not blocked by a FIFO put in the reflog’s place, and adds to a pin left before', async () => {
    const first = await startPinning(input());
    const one = await commitIn('one');
    await first.stop();
    await rm(join(admin, 'logs', 'HEAD'));
    execFileSync('mkfifo', [join(admin, 'logs', 'HEAD')]);
    const second = await startPinning(input());
    // The branch's reflog still names the new commit; the FIFO is left unread.
    const two = await repo.git(['commit-tree', `${one}^{tree}`, '-p', one, '-m', 'two'], worktree);
    await repo.git(['update-ref', 'refs/heads/pe/exec/a', two]);
    await second.stop();
    expect((await readPin(repo.dir, ref, gitTestEnv()))?.commits).toEqual([one, two]);
  });

  it('pins nothing when nothing is committed', async () => {
    const pinner = await startPinning(input());
    await writeFile(join(worktree, 'b.txt'), 'uncommitted\n');
    await pinner.stop();
    expect(await readPin(repo.dir, ref, gitTestEnv())).toBeNull();
  });
});
