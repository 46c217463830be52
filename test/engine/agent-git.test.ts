import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { agentEnv, plan, runPlan, task } from './helpers.js';

let repo: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'shared.txt': 'base\n' } });
});

afterEach(async () => {
  await repo.cleanup();
});

const COMMIT = 'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';

describe('an agent that moves HEAD inside its worktree', () => {
  it('keeps work committed on another branch on the task branch', async () => {
    const command =
      `git checkout -q -b side && echo side > side.txt && git add side.txt && ${COMMIT} commit -qm side && ` +
      'echo leftover > leftover.txt';
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, { env: agentEnv() });
    const run = state.tasks['1']!;
    expect(run.status).toBe('completed');
    expect(await repo.git(['show', `${run.branch}:side.txt`])).toBe('side');
    expect(await repo.git(['show', `${run.branch}:leftover.txt`])).toBe('leftover');
    expect(await repo.git(['rev-parse', run.branch])).toBe(run.head_sha);
  });

  it('keeps work left on a detached HEAD on the task branch', async () => {
    const command = 'git checkout -q --detach && echo detached > detached.txt';
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, { env: agentEnv() });
    const run = state.tasks['1']!;
    expect(run.status).toBe('completed');
    expect(await repo.git(['show', `${run.branch}:detached.txt`])).toBe('detached');
    expect(await repo.git(['rev-parse', run.branch])).toBe(run.head_sha);
  });

  it('fails the task, losing nothing, when HEAD no longer holds the task branch commits', async () => {
    const command =
      `echo one > one.txt && git add one.txt && ${COMMIT} commit -qm one && ` +
      `git checkout -q --detach HEAD~1 && echo two > two.txt`;
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, { env: agentEnv() });
    const run = state.tasks['1']!;
    expect(run.status).toBe('failed');
    expect(run.reason).toMatch(/not on its branch/);
    expect(await repo.git(['show', `${run.branch}:one.txt`])).toBe('one');
  });

  it('retries on the task branch, from its start, after an attempt that committed and switched away', async () => {
    const mark = join(repo.dir, '..', `${basename(repo.dir)}-first-attempt`);
    // First attempt: commits on the task branch, moves to another branch, fails. Second: succeeds.
    const command =
      `if [ ! -e '${mark}' ]; then touch '${mark}' && echo bad > bad.txt && git add bad.txt && ` +
      `${COMMIT} commit -qm bad && git checkout -q -b elsewhere && exit 1; ` +
      `else echo good > good.txt; fi`;
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, {
      env: agentEnv(),
      settings: { retries: 1 },
    });
    await rm(mark, { force: true });
    const run = state.tasks['1']!;
    expect(run.attempts).toBe(2);
    expect(run.status).toBe('completed');
    expect(await repo.git(['show', `${run.branch}:good.txt`])).toBe('good');
    const files = await repo.git(['ls-tree', '-r', '--name-only', run.branch]);
    expect(files.split('\n')).not.toContain('bad.txt');
  });
});

describe('an agent that expires the reflogs', () => {
  it('warns that commits it dropped can no longer be found; an agent that leaves them alone gets no such warning', async () => {
    const command =
      `echo one > one.txt && git add one.txt && ${COMMIT} commit -qm one && ` +
      'git reset -q --hard HEAD~1 && echo two > two.txt && ' +
      'git reflog expire --expire=now --all && git gc -q --prune=now';
    const { state } = await runPlan(repo.dir, plan([task('1')]), command, { env: agentEnv() });
    const run = state.tasks['1']!;
    expect(run.status).toBe('completed');
    expect(run.warnings?.join('\n')).toMatch(
      /the HEAD reflog of its worktree .* was emptied during the run \(git reflog expire/,
    );
    expect(await repo.git(['show', `${run.branch}:two.txt`])).toBe('two');

    const calm = await runPlan(repo.dir, plan([task('2')]), 'echo three > three.txt', {
      env: agentEnv(),
    });
    expect(calm.state.tasks['2']!.warnings?.join('\n') ?? '').not.toMatch(/reflog/);
  });
});
