import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMutex } from '../../src/engine/workspace/mutex.js';
import { addWorktree, BranchExistsError } from '../../src/engine/workspace/worktree.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo | null = null;
afterEach(async () => {
  await repo?.cleanup();
  repo = null;
});

describe('parallel worktree creation', () => {
  it('makes many worktrees at once, each on its own new branch with the files checked out', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i += 1) files[`src/f${i}.txt`] = `${i}\n`;
    repo = await createTempRepo({ files });
    const base = await repo.git(['rev-parse', 'HEAD']);
    const lock = createMutex();
    const names = Array.from({ length: 12 }, (_, i) => `task-${i}`);
    // Same folder name under different parents: git must still give each its own admin folder.
    const paths = names.map((name, i) => join(repo!.dir, '.wt', String(i % 2), name));
    await Promise.all(names.map((name, i) => addWorktree(repo!.dir, paths[i]!, name, base, lock)));

    for (const [i, name] of names.entries()) {
      expect(await readFile(join(paths[i]!, 'src/f7.txt'), 'utf8')).toBe('7\n');
      expect(await repo.git(['symbolic-ref', 'HEAD'], paths[i])).toBe(`refs/heads/${name}`);
      expect(await repo.git(['status', '--porcelain'], paths[i])).toBe('');
      expect(await repo.git(['rev-parse', name])).toBe(base);
    }
    const listed = await repo.git(['worktree', 'list', '--porcelain']);
    expect(listed.split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(13);
  });

  it('branches asked for together are made in one ref transaction; one that exists is refused alone, the others made', async () => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    const base = await repo.git(['rev-parse', 'HEAD']);
    await repo.write('b.txt', 'b\n');
    const second = await repo.commit('second');
    await repo.git(['branch', 'task-3', second]);
    const trace = join(repo.dir, '..', `${repo.dir.split('/').pop()}-trace.json`);
    const lock = createMutex();
    const names = Array.from({ length: 8 }, (_, i) => `task-${i}`);
    process.env['GIT_TRACE2_EVENT'] = trace;
    const results = await Promise.allSettled(
      names.map((name) => addWorktree(repo!.dir, join(repo!.dir, '.wt', name), name, base, lock)),
    ).finally(() => delete process.env['GIT_TRACE2_EVENT']);
    const events = (await readFile(trace, 'utf8')).split('\n');
    await rm(trace, { force: true });
    for (const [i, name] of names.entries()) {
      if (name === 'task-3') {
        expect((results[i] as PromiseRejectedResult).reason).toBeInstanceOf(BranchExistsError);
        expect(await repo.git(['rev-parse', name])).toBe(second);
      } else {
        expect(results[i]!.status).toBe('fulfilled');
        expect(await repo.git(['rev-parse', name])).toBe(base);
      }
    }
    // Together (or the first alone, when the others come late): the transaction refused, then
    // one by one.
    const refWrites = events.filter(
      (line) => line.includes('"event":"start"') && line.includes('"update-ref"'),
    );
    expect(refWrites.length).toBeLessThanOrEqual(2 + 7);
    const transactions = refWrites.filter((line) => line.includes('"--stdin"'));
    expect(transactions.length).toBeGreaterThanOrEqual(1);
  });

  it('eight branches at once cost at most two ref writes', async () => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    const base = await repo.git(['rev-parse', 'HEAD']);
    const trace = join(repo.dir, '..', `${repo.dir.split('/').pop()}-trace.json`);
    const lock = createMutex();
    const names = Array.from({ length: 8 }, (_, i) => `task-${i}`);
    process.env['GIT_TRACE2_EVENT'] = trace;
    await Promise.all(
      names.map((name) => addWorktree(repo!.dir, join(repo!.dir, '.wt', name), name, base, lock)),
    ).finally(() => delete process.env['GIT_TRACE2_EVENT']);
    const events = (await readFile(trace, 'utf8')).split('\n');
    await rm(trace, { force: true });
    const refWrites = events.filter(
      (line) => line.includes('"event":"start"') && line.includes('"update-ref"'),
    );
    expect(refWrites.length).toBeLessThanOrEqual(2);
    for (const name of names) expect(await repo.git(['rev-parse', name])).toBe(base);
  });

  it('refuses to move a branch that already exists', async () => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    const base = await repo.git(['rev-parse', 'HEAD']);
    await repo.write('b.txt', 'b\n');
    const second = await repo.commit('second');
    await repo.git(['branch', 'taken', second]);
    await expect(
      addWorktree(repo.dir, join(repo.dir, '.wt', 'x'), 'taken', base),
    ).rejects.toBeInstanceOf(BranchExistsError);
    expect(await repo.git(['rev-parse', 'taken'])).toBe(second);
  });
});

describe('repository mutex', () => {
  it('runs shared work together, exclusive work alone, in arrival order', async () => {
    const lock = createMutex();
    const log: string[] = [];
    let inside = 0;
    let most = 0;
    const step = (name: string, ms: number) => async () => {
      inside += 1;
      most = Math.max(most, inside);
      log.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`${name}-`);
      inside -= 1;
    };
    await Promise.all([
      lock.run(step('x1', 5)),
      lock.shared(step('s1', 20)),
      lock.shared(step('s2', 5)),
      lock.run(step('x2', 5)),
      lock.shared(step('s3', 5)),
    ]);
    expect(log).toEqual(['x1+', 'x1-', 's1+', 's2+', 's2-', 's1-', 'x2+', 'x2-', 's3+', 's3-']);
    expect(most).toBe(2);
    // A failure releases the lock.
    await expect(lock.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.shared(async () => 'after')).resolves.toBe('after');
  });

  it('runs at most its number of checkouts at once, in arrival order, whatever the lock does', async () => {
    const lock = createMutex(2);
    const started: number[] = [];
    let inside = 0;
    let most = 0;
    const checkout = (i: number) =>
      lock.checkout(async () => {
        started.push(i);
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 5 + (i % 2) * 5));
        inside -= 1;
        if (i === 2) throw new Error('failed checkout');
        return i;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map(checkout));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    // A failure frees its slot like a success.
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    await expect(lock.run(async () => 'free')).resolves.toBe('free');
  });

  it('work that can wait starts once the checkouts asked for before it end, holds no slot, and is not held up by later ones', async () => {
    const lock = createMutex(2);
    const order: string[] = [];
    let inside = 0;
    let most = 0;
    const step = (name: string, ms: number) => async () => {
      order.push(`${name}+`);
      inside += 1;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inside -= 1;
      order.push(`${name}-`);
      if (name === 'collect-1') throw new Error('failed collection');
    };
    const first = [
      lock.checkout(step('checkout-1', 20)),
      lock.checkout(step('checkout-2', 30)),
      lock.checkout(step('checkout-3', 10)),
      lock.checkout(step('checkout-4', 10)),
    ];
    // An agent that ended while four checkouts run or wait (two slots): it goes after all four.
    const collect1 = lock.afterCheckouts(step('collect-1', 40));
    // A checkout asked for after it (a dependent task starting): it does not hold it up.
    const later = lock.checkout(step('checkout-5', 200));
    const collect2 = lock.afterCheckouts(step('collect-2', 40));
    // A checkout asked for while they run starts at once: they hold no slot.
    const late = (async () => {
      while (!order.includes('collect-1+')) await new Promise((resolve) => setTimeout(resolve, 1));
      await lock.checkout(step('checkout-6', 5));
    })();
    const results = await Promise.allSettled([...first, collect1, later, collect2, late]);
    const at = (mark: string) => order.indexOf(mark);
    for (const checkout of ['checkout-1-', 'checkout-2-', 'checkout-3-', 'checkout-4-']) {
      expect(at('collect-1+')).toBeGreaterThan(at(checkout));
    }
    expect(at('collect-1+')).toBeLessThan(at('checkout-5-'));
    // collect-2 was asked for after checkout-5: it waits for it.
    expect(at('collect-2+')).toBeGreaterThan(at('checkout-5-'));
    expect(at('checkout-6+')).toBeLessThan(at('collect-1-'));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(most).toBeLessThanOrEqual(3);
    // With nothing asked for, it starts at once.
    await expect(lock.afterCheckouts(async () => 'now')).resolves.toBe('now');
  });
});
