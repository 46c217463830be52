import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { git } from '../../src/engine/workspace/git-exec.js';
import { findRepoRoot } from '../../src/engine/workspace/repo.js';
import { MissingDirectoryError } from '../../src/engine/errors.js';
import { checkInvariant, describe as describeReport, readLedger } from '../support/invariant.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { agentEnv, plan, runPlan, scratch, task, type Scratch } from './helpers.js';

let repo: TempRepo;
let box: Scratch;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': '# app\n' } });
  box = await scratch();
});

afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

describe('an agent that removed its own worktree', () => {
  it.each([
    ['git worktree remove', 'git -C "$W" worktree remove --force "$W"'],
    ['rm -rf', 'rm -rf "$W"'],
  ])('(%s) fails its task, saying so; its branch keeps its commits', async (_how, removal) => {
    const { state } = await runPlan(
      repo.dir,
      plan([task('1.1')]),
      'echo work > work.txt && git add -A && git commit -qm work && ' +
        `printf '{"commit":"%s","task":"1.1"}\\n' "$(git rev-parse HEAD)" >> "$LEDGER/1.1.jsonl" && ` +
        `W="$PE_WORKTREE" && cd / && ${removal}`,
      { env: agentEnv({ LEDGER: box.dir }) },
    );
    const run = state.tasks['1.1']!;
    expect(run.status).toBe('failed');
    expect(run.reason).toBe(
      `the worktree ${run.worktree} no longer exists (the agent removed it?); its commits are kept on ${run.branch}`,
    );
    expect(await repo.git(['show', `${run.branch}:work.txt`])).toBe('work');
    const report = await checkInvariant({
      repoRoot: repo.dir,
      state,
      ledger: await readLedger(box.dir),
    });
    expect(report.ok, describeReport(report)).toBe(true);
  });

  it('git in a directory that is gone says so, not "spawn git ENOENT"', async () => {
    const gone = `${box.dir}/gone`;
    await rm(gone, { recursive: true, force: true });
    const error = await git(gone, ['status']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDirectoryError);
    expect((error as Error).message).toBe(
      `git status cannot run: the directory ${gone} no longer exists`,
    );
  });
});

describe('a bare repository', () => {
  it('is named as bare, with the checkout it needs, not "not inside a git repository"', async () => {
    const bare = `${box.dir}/bare.git`;
    await git(box.dir, ['init', '-q', '--bare', bare]);
    await expect(findRepoRoot(bare)).rejects.toMatchObject({
      message: `${bare} is a bare git repository: it has no working tree for agents to branch from`,
      hint: expect.stringContaining('git clone') as unknown,
    });
  });
});
