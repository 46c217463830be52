/**
 * A run looks at the pool's worktrees while its pre-flight runs (`lookAtPool`), so that its first
 * tasks' takes need not. Those looks only read: a run refused by pre-flight leaves the pool as it
 * was, and a look grown old is made again before a worktree is handed to a task.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { PreflightError } from '../../src/engine/errors.js';
import { lookAtPool, WorktreePool } from '../../src/engine/workspace/pool.js';
import { plan, runPlan, task } from '../engine/helpers.js';
import { poolDirIn, usePoolRepo, WORK } from './pool-support.js';

const box = usePoolRepo(2);
const KEEP_UNDER = 'refs/parallel-executor/test/pool';

/** Two worktrees parked by a first run's clean-up. */
async function parkTwo(): Promise<string[]> {
  await box.fresh();
  const first = await box.run(plan([task('1'), task('2')]), WORK, { cleanUp: true });
  expect(first.state.status).toBe('completed');
  const pooled = await box.pooled();
  expect(pooled).toHaveLength(2);
  return pooled.map((name) => join(poolDirIn(box.repo), name));
}

/** A commit made in a parked worktree (as an agent writing outside its own would): unusable now. */
async function commitIn(worktree: string): Promise<string> {
  await writeFile(join(worktree, 'stray.txt'), 'stray\n');
  await box.repo.git(['add', 'stray.txt'], worktree);
  await box.repo.git(['commit', '-qm', 'made in the pool'], worktree);
  return box.repo.git(['rev-parse', 'HEAD'], worktree);
}

/** The git commands `work` started (their argv), from git's trace2 events. */
async function gitDuring(work: () => Promise<unknown>): Promise<string[][]> {
  const trace = join(box.ledger.dir, 'trace.json');
  process.env['GIT_TRACE2_EVENT'] = trace;
  try {
    await work();
  } finally {
    delete process.env['GIT_TRACE2_EVENT'];
  }
  const text = await readFile(trace, 'utf8').catch(() => '');
  await rm(trace, { force: true });
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; argv?: string[] })
    .filter((event) => event.event === 'start' && event.argv !== undefined)
    .map((event) => event.argv!);
}

describe('the pool looked at while pre-flight runs', () => {
  it('a run refused by pre-flight leaves every parked worktree where it was, an unusable one and its commit too', async () => {
    const [unusable, usable] = await parkTwo();
    const stray = await commitIn(unusable!);

    await expect(
      runPlan(box.repo.dir, plan([task('3'), task('4')]), WORK, {
        settings: { pool: 2, requiredEnv: ['PE_TEST_NOT_SET_ANYWHERE'] },
      }),
    ).rejects.toBeInstanceOf(PreflightError);

    // Nothing taken out of the pool, nothing removed, no ref written for the stray commit.
    expect((await box.pooled()).map((name) => join(poolDirIn(box.repo), name))).toEqual(
      [unusable, usable].sort(),
    );
    expect(await box.repo.git(['rev-parse', 'HEAD'], unusable)).toBe(stray);
    expect(await box.repo.git(['for-each-ref', 'refs/parallel-executor/'])).not.toContain(stray);
  });

  it('a take goes by a fresh look without asking git again, and looks again once it is a second old', async () => {
    const [first, second] = await parkTwo();
    const root = box.repo.dir;
    const dir = poolDirIn(box.repo);

    // Fresh: the take hands the worktree on with no git command of its own.
    const fresh = lookAtPool(dir, root, 2);
    await fresh.entries;
    await Promise.all([...fresh.checks.values()].map((check) => check.found));
    const pool = new WorktreePool(dir, root, KEEP_UNDER, fresh);
    let taken: Awaited<ReturnType<WorktreePool['take']>> = null;
    const ran = await gitDuring(async () => {
      taken = await pool.take();
    });
    expect(taken!.path).toBe(first);
    expect(ran).toEqual([]);

    // Old: what changed since the look is seen, and that worktree is not handed on (the look
    // said it was usable; the take looked again, found the commit, kept it and dropped it).
    const old = lookAtPool(dir, root, 2);
    await old.entries;
    expect([...old.checks.keys()]).toEqual([first, second]);
    await Promise.all([...old.checks.values()].map((check) => check.found));
    await delay(1_100);
    const stray = await commitIn(first!);
    const kept: string[] = [];
    const later = await new WorktreePool(dir, root, KEEP_UNDER, old).take((ref) => kept.push(ref));
    expect(later?.path).toBe(second);
    expect(kept).toHaveLength(1);
    expect(await box.repo.git(['rev-parse', kept[0]!])).toBe(stray);
    expect((await box.pooled()).map((name) => join(dir, name))).toEqual([second]);
  });
});
