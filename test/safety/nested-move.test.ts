import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  moveNestedRepositories,
  NestedMoveError,
} from '../../src/engine/workspace/nested-repos.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-nested-move-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function nested(worktree: string, name: string): Promise<void> {
  await mkdir(join(worktree, name), { recursive: true });
  execFileSync('git', ['init', '-q', join(worktree, name)]);
  await writeFile(join(worktree, name, 'work.txt'), `${name}\n`);
}

describe('moving nested repositories out of a worktree', () => {
  it('when one cannot be moved, says which, and which were moved before it', async () => {
    const worktree = join(dir, 'wt');
    const keep = join(dir, 'kept');
    for (const name of ['one', 'two', 'three']) await nested(worktree, name);
    // `two` cannot go there: something is in its place already.
    await mkdir(join(keep, 'two'), { recursive: true });
    await writeFile(join(keep, 'two', 'other.txt'), 'in the way\n');

    const error = await moveNestedRepositories(worktree, keep).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NestedMoveError);
    const failed = error as NestedMoveError;
    expect(failed.failed).toBe('two');
    // What it says was moved is in the keep folder and gone from the worktree; the rest stayed.
    for (const name of ['one', 'three']) {
      const moved = failed.moved.includes(name);
      expect(existsSync(join(keep, name, 'work.txt'))).toBe(moved);
      expect(existsSync(join(worktree, name, 'work.txt'))).toBe(!moved);
    }
    expect(existsSync(join(worktree, 'two', 'work.txt'))).toBe(true);
    const text = failed.describe(keep);
    expect(text).toContain(`two could not be moved there`);
    if (failed.moved.length > 0)
      expect(text).toContain(`${failed.moved.join(', ')} moved to ${keep}`);
  });
});
