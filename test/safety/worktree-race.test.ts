/**
 * Git commands that read every worktree's admin folder (`.git/worktrees/*`) fail at once when they
 * meet one that a parallel `git worktree add` has made but not filled yet, or that a parallel
 * removal is deleting. The engine runs such commands beside those in five more places than the
 * task start already covered (worktree-pool-today): `clean` run beside a run (it lists the
 * worktrees before it takes the repository lock), a pooled worktree dropped during a run,
 * a repair attempt's branch put back beside the other attempts' worktree adds, and clean-up's
 * parking and removal of tasks' worktrees in parallel. Each first meets git's exact message
 * (git 2.39, measured: see the commit) through a fake git, and must try again, not fail.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { repoGit } from '../../src/engine/integrate/repo.js';
import { checkRepairResult } from '../../src/engine/repair/check.js';
import { openRepairWorkspace } from '../../src/engine/repair/workspace.js';
import { identityArgs } from '../../src/engine/workspace/identity.js';
import { parkWorktree, WorktreePool } from '../../src/engine/workspace/pool.js';
import {
  addTask,
  integrate,
  integrationResult,
  run,
  TEST_ENV,
  useRepos,
  worktreePaths,
  writeState,
} from '../cleanup/repo.js';
import { TEST_IDENTITY } from '../support/git-repo.js';
import { cli } from '../cli-run/helpers.js';
import { withFakeGit } from './pool-support.js';

const newRepo = useRepos();

let marks: string | null = null;
afterEach(async () => {
  if (marks !== null) await rm(marks, { recursive: true, force: true });
  marks = null;
});

/** A folder for the fake git's marks: each failure happens once, and the test sees that it did. */
async function markDir(): Promise<string> {
  marks = await realpath(await mkdtemp(join(tmpdir(), 'pe-race-marks-')));
  return marks;
}

/**
 * A fake git case: the first call whose arguments hold `args` (and, if given, whose arguments or
 * folder hold `where`) fails with `message` and git's exit code, marking `<dir>/<name>`.
 */
function failOnce(dir: string, name: string, args: string, message: string, where = ''): string {
  const inside = where === '' ? '' : `*"${where}"*`;
  return (
    `case " $* $PWD" in *" ${args} "*${inside}) if mkdir "${dir}/${name}" 2>/dev/null; then ` +
    `echo "${message}" >&2; exit 128; fi;; esac\n`
  );
}

/** TEST_ENV with the PATH of now: inside withFakeGit, the one that finds the fake git first. */
const fakeGitEnv = () => ({ ...TEST_ENV, PATH: process.env['PATH'] ?? '' });

/** What git says when another worktree's admin folder is made but its commondir still empty. */
const halfMade = (root: string, relative = false) =>
  `fatal: failed to read ${relative ? '' : `${root}/`}.git/worktrees/other-task/commondir: Success`;

/** What git says when another worktree's admin folder was listed, then removed before the read. */
const removed = (root: string) =>
  `fatal: Invalid path '${root}/.git/worktrees/other-task': No such file or directory`;

describe("git's worktree race, where the engine reads every worktree beside another's add or removal", () => {
  it('`clean` beside a run setting up its worktrees still finds the repository, not "not inside a git repository"', async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' })];
    await integrate(repo, tasks);
    await writeState(repo, tasks, { integration: integrationResult(['1.1']) });
    const dir = await markDir();

    // clean lists the worktrees (to find the main one) before it takes the repository lock.
    const cleaned = await withFakeGit(
      failOnce(dir, 'met', 'worktree list --porcelain', halfMade(repo.root, true)),
      () => cli(['clean'], tasks[0]!.worktree),
    );

    expect(existsSync(join(dir, 'met'))).toBe(true);
    expect(cleaned.stderr).not.toContain('not inside a git repository');
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(`Execution ${repo.executionId}:`);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it("clean-up's removal of a task's worktree, beside another task's removal, is tried again", async () => {
    const repo = await newRepo();
    const tasks = [await addTask(repo, { id: '1.1' }), await addTask(repo, { id: '1.2' })];
    await integrate(repo, tasks);
    const state = await writeState(repo, tasks, { integration: integrationResult(['1.1', '1.2']) });
    const dir = await markDir();

    const result = await withFakeGit(
      failOnce(dir, 'met', 'worktree remove --force', removed(repo.root), '/1-1 '),
      () =>
        cleanupExecution(state, {
          repoRoot: repo.root,
          executionDir: repo.executionDir,
          env: TEST_ENV,
        }),
    );

    expect(existsSync(join(dir, 'met'))).toBe(true);
    const items = result.items.filter((item) => item.kind === 'worktree');
    expect(items.map((item) => `${item.taskId}: ${item.action}`)).toEqual([
      '1.1: removed',
      '1.2: removed',
    ]);
    expect(result.errors).toBe(0);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it('parking a worktree in the pool goes past a vanishing and a half-made admin folder', async () => {
    const repo = await newRepo();
    const [task] = [await addTask(repo, { id: '1.1' })];
    const pool = join(repo.base, 'pool');
    const dir = await markDir();

    const parked = await withFakeGit(
      failOnce(dir, 'detach', 'checkout --quiet --force --detach', removed(repo.root)) +
        failOnce(dir, 'move', 'worktree move', halfMade(repo.root, true)),
      () => parkWorktree(repo.root, task!.worktree, pool),
    );

    expect(existsSync(join(dir, 'detach'))).toBe(true);
    expect(existsSync(join(dir, 'move'))).toBe(true);
    expect(parked.parked, 'reason' in parked ? parked.reason : '').not.toBeNull();
    expect(existsSync(task!.worktree)).toBe(false);
    expect(await worktreePaths(repo.root)).toEqual([repo.root, parked.parked]);
    // Detached where the branch was: nothing of the task's branch is held by the pool.
    expect(await run(parked.parked!, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('HEAD');
  });

  it("a pooled worktree dropped during a run, beside another task's worktree add, is removed", async () => {
    const repo = await newRepo();
    const [task] = [await addTask(repo, { id: '1.1' })];
    const poolDir = join(repo.base, 'pool');
    const parked = await parkWorktree(repo.root, task!.worktree, poolDir);
    expect(parked.parked).not.toBeNull();
    const dir = await markDir();

    await withFakeGit(
      failOnce(dir, 'met', 'worktree remove --force --force', halfMade(repo.root, true)),
      () =>
        new WorktreePool(poolDir, repo.root, 'refs/parallel-executor/x/pool').drop(parked.parked!),
    );

    expect(existsSync(join(dir, 'met'))).toBe(true);
    expect(existsSync(parked.parked!)).toBe(false);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
  });

  it("a repair attempt's branch put back under HEAD, beside another attempt's worktree add, is", async () => {
    const repo = await newRepo();
    const [task] = [await addTask(repo, { id: '1.1' })];
    const worktrees = join(repo.base, 'repairs');
    await mkdir(worktrees);
    const ws = await openRepairWorkspace({
      repoRoot: repo.root,
      dir: worktrees,
      taskId: '1.1',
      taskBranch: task!.branch,
      integrationHead: await run(repo.root, ['rev-parse', 'main']),
      baseSha: await run(repo.root, ['rev-parse', 'main']),
      env: TEST_ENV,
      identity: TEST_IDENTITY,
    });
    // The agent left the repair branch for a detached HEAD with a commit of its own on top.
    await run(ws.worktree, ['checkout', '-q', '--detach']);
    await run(ws.worktree, ['commit', '-q', '--allow-empty', '-m', 'the fix']);
    const fix = await run(ws.worktree, ['rev-parse', 'HEAD']);
    const dir = await markDir();
    const wsIdentity = identityArgs(TEST_IDENTITY);

    const problem = await withFakeGit(
      failOnce(dir, 'met', `checkout -q -B ${ws.branch} HEAD`, halfMade(repo.root)),
      // The workspace's git with the PATH that finds the fake (its env was taken before).
      () => checkRepairResult({ ...ws, git: repoGit(ws.worktree, fakeGitEnv(), wsIdentity) }),
    );

    expect(existsSync(join(dir, 'met'))).toBe(true);
    expect(problem).toBeNull();
    expect(await run(ws.worktree, ['symbolic-ref', 'HEAD'])).toBe(`refs/heads/${ws.branch}`);
    expect(await run(repo.root, ['rev-parse', `refs/heads/${ws.branch}`])).toBe(fix);
  });
});
