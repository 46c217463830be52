import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathExists } from '../../src/engine/path-exists.js';
import { addSubmodule, createTempRepo, FILE_PROTOCOL, type TempRepo } from '../support/git-repo.js';
import type { TaskRun } from '../../src/engine/state/schema.js';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { agentEnv, plan, runPlan, task, type Recorded } from '../engine/helpers.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await r.cleanup();
});

/** First attempt (no marker yet): `first`, then a failure. Later ones: `then`. */
function failOnce(first: string, then: string): string {
  return [
    'if [ ! -f "$PE_MESSAGES_DIR/../tried-$PE_TASK_ID" ]; then',
    '  touch "$PE_MESSAGES_DIR/../tried-$PE_TASK_ID"',
    `  ${first}`,
    '  exit 1',
    'fi',
    then,
  ].join('\n');
}

async function repoWithSubmodule(): Promise<TempRepo> {
  const library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
  const repo = await createTempRepo();
  repos.push(library, repo);
  await addSubmodule(repo, library);
  return repo;
}

/**
 * A run of one task whose first attempt does `first` in its worktree and fails, and whose retry
 * checks that `left` is gone; the task's kept folder for the first attempt.
 */
async function retryAfter(repo: TempRepo, first: string, left: string, settings = {}) {
  const agent = failOnce(first, `test ! -e ${left} || exit 3; echo done > done.txt`);
  const result = await runPlan(repo.dir, plan([task('1')]), agent, {
    settings: { retries: 1, ...settings },
  });
  const run = result.state.tasks['1']!;
  expect(run.status, run.reason ?? '').toBe('completed');
  return { run, kept: keptOf(result, run, 'attempt-1') };
}

/** `<execution>/kept/<task>/<what>`. */
function keptOf(result: Recorded, run: TaskRun, what: string): string {
  return join(result.executionDir, 'kept', run.output_dir.split('/').pop()!, what);
}

const COMMIT = 'git -c user.name=A -c user.email=a@example.invalid -c commit.gpgsign=false';

const AGENT_REPO =
  'mkdir -p vendor/x && cd vendor/x && git init -q && echo mine > mine.txt && cd ../..';

/** A folder on another file system than the temp repositories, when this machine has one. */
const OTHER_DISK = ['/tmp', '/var/tmp', '/dev/shm'].find((dir) => {
  try {
    return statSync(dir).dev !== statSync(tmpdir()).dev;
  } catch {
    return false;
  }
});

describe('nested repositories before a retry', () => {
  it("moves a linked worktree of another repository with that repository's record of it", async () => {
    const other = await createTempRepo({ files: { 'o.txt': 'other\n' } });
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(other, repo);
    // First attempt: a worktree of another repository in a folder of its own, a loose file in it.
    const first = `git -C ${other.dir} worktree add -q "$PWD/side" -b side && echo loose > side/loose.txt`;
    const { kept } = await retryAfter(repo, first, 'side');
    const side = join(kept, 'side');
    expect(await readFile(join(side, 'loose.txt'), 'utf8')).toBe('loose\n');
    // The other repository knows where its worktree went: not prunable, and usable there.
    const listed = await other.git(['worktree', 'list', '--porcelain']);
    expect(listed).toContain(`worktree ${await realpath(side)}`);
    expect(listed).not.toContain('prunable');
    expect(await other.git(['-C', side, 'status', '--porcelain'])).toBe('?? loose.txt');
  });

  it("moves a folder whose .git file names the task worktree's own record, and leaves that record", async () => {
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(repo);
    const first =
      'mkdir side && echo "gitdir: $(git rev-parse --absolute-git-dir)" > side/.git && echo f > side/f.txt';
    const { run, kept } = await retryAfter(repo, first, 'side');
    expect(await readFile(join(kept, 'side/f.txt'), 'utf8')).toBe('f\n');
    const listed = await repo.git(['worktree', 'list', '--porcelain']);
    expect(listed).toContain(`worktree ${await realpath(run.worktree)}`);
    expect(listed).not.toContain('side');
  });

  it('leaves a repository in an ignored folder (dependencies the setup installed) for the retry', async () => {
    // What `composer install --prefer-source` or a vendored clone does: ignored, and needed.
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n', '.gitignore': 'deps/\n' } });
    repos.push(repo);
    const setupCommand =
      'test -d deps/tool || (mkdir -p deps/tool && cd deps/tool && git init -q && echo v1 > lib.txt)';
    const agent = failOnce(
      `${AGENT_REPO}`,
      'test ! -e vendor/x || exit 3; cat deps/tool/lib.txt > copy.txt',
    );
    const result = await runPlan(repo.dir, plan([task('1')]), agent, {
      settings: { retries: 1, setupCommand },
    });
    const run = result.state.tasks['1']!;
    expect(run.status, run.reason ?? '').toBe('completed');
    expect(await readFile(join(run.worktree, 'copy.txt'), 'utf8')).toBe('v1\n');
    // The agent's own repository (not ignored) was still moved.
    const kept = keptOf(result, run, 'attempt-1');
    expect(await readdir(kept)).toEqual(['vendor']);
  });

  it.skipIf(OTHER_DISK === undefined)(
    'with the worktree root on another file system (rename fails with EXDEV), copies it into kept/ and goes on',
    async () => {
      const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
      repos.push(repo);
      const root = await mkdtemp(join(OTHER_DISK!, 'pe-other-disk-'));
      try {
        const first = `${AGENT_REPO} && ln -s mine.txt vendor/x/link`;
        const { kept } = await retryAfter(repo, first, 'vendor/x', { worktreeRoot: root });
        const x = join(kept, 'vendor/x');
        expect(await readFile(join(x, 'mine.txt'), 'utf8')).toBe('mine\n');
        expect(await readFile(join(x, 'link'), 'utf8')).toBe('mine\n');
        expect(await repo.git(['-C', x, 'rev-parse', '--is-inside-work-tree'])).toBe('true');
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  );
});

describe('nested repositories before clean removes a worktree', () => {
  /** `clean --force` (with the pool at `pool`) of a run whose one task did `agent` and failed. */
  async function cleanAfter(repo: TempRepo, agent: string, pool?: number) {
    const result = await runPlan(repo.dir, plan([task('1')]), `${agent}; exit 1`, {
      env: { ...agentEnv(), ...FILE_PROTOCOL },
    });
    const run = result.state.tasks['1']!;
    expect(run.status).toBe('failed');
    const cleaned = await cleanupExecution(result.state, {
      repoRoot: repo.dir,
      executionDir: result.executionDir,
      env: agentEnv(),
      force: true,
      ...(pool === undefined ? {} : { pool }),
    });
    const item = cleaned.items.find((i) => i.kind === 'worktree')!;
    expect(item.action, item.reason).toBe('removed');
    expect(await pathExists(run.worktree)).toBe(false);
    return { item, kept: keptOf(result, run, 'clean') };
  }

  it.each([
    ['without a pool', undefined],
    ['with workspace.pool', 2],
  ])(
    "%s: moves the agent's repository out, and leaves the project's submodule checkout to go with the worktree",
    async (_, pool) => {
      const repo = await repoWithSubmodule();
      const { item, kept } = await cleanAfter(repo, AGENT_REPO, pool);
      expect(await readdir(dirname(kept))).toEqual(['clean']);
      expect(await readdir(kept)).toEqual(['vendor']);
      expect(await readFile(join(kept, 'vendor/x/mine.txt'), 'utf8')).toBe('mine\n');
      expect(item.reason).toContain('vendor/x');
      expect(item.reason).not.toMatch(/\blib\b/);
    },
  );

  it("keeps the history of a submodule the agent added (its git folder in the worktree's own admin folder)", async () => {
    const other = await createTempRepo({ files: { 'o.txt': 'other\n' } });
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(other, repo);
    const agent = [
      `git -c protocol.file.allow=always submodule add -q ${other.dir} vendor/x`,
      `cd vendor/x && echo new > new.txt && git add new.txt && ${COMMIT} commit -qm only-here`,
    ].join(' && ');
    const { kept } = await cleanAfter(repo, agent);
    const x = join(kept, 'vendor/x');
    expect(await readFile(join(x, 'new.txt'), 'utf8')).toBe('new\n');
    expect(await repo.git(['-C', x, 'log', '-1', '--format=%s'])).toBe('only-here');
    expect(await repo.git(['-C', x, 'status', '--porcelain'])).toBe('');
  });
});
