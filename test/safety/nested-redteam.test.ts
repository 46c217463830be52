import { statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathExists } from '../../src/engine/path-exists.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { agentEnv, plan, runPlan, task } from '../engine/helpers.js';

const repos: TempRepo[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await r.cleanup();
});

/** Submodules from a local path need the file protocol, which git refuses by default: tests only. */
const FILE_PROTOCOL = {
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'protocol.file.allow',
  GIT_CONFIG_VALUE_0: 'always',
};

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
  await repo.git([
    '-c',
    'protocol.file.allow=always',
    'submodule',
    'add',
    '-q',
    library.dir,
    'lib',
  ]);
  await repo.commit('add the library as a submodule');
  return repo;
}

const COMMIT = 'git -c user.name=A -c user.email=a@example.invalid -c commit.gpgsign=false';

const AGENT_REPO =
  'mkdir -p vendor/x && cd vendor/x && git init -q && echo mine > mine.txt && cd ../..';

describe('nested repositories before a retry', () => {
  it("moves a linked worktree of another repository with that repository's record of it", async () => {
    const other = await createTempRepo({ files: { 'o.txt': 'other\n' } });
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(other, repo);
    // First attempt: a worktree of another repository in a folder of its own, a loose file in it.
    const first = `git -C ${other.dir} worktree add -q "$PWD/side" -b side && echo loose > side/loose.txt`;
    const agent = failOnce(first, 'test ! -e side || exit 3; echo done > done.txt');
    const result = await runPlan(repo.dir, plan([task('1')]), agent, { settings: { retries: 1 } });

    const run = result.state.tasks['1']!;
    expect(run.status, run.reason ?? '').toBe('completed');
    const side = join(
      result.executionDir,
      'kept',
      run.output_dir.split('/').pop()!,
      'attempt-1',
      'side',
    );
    expect(await readFile(join(side, 'loose.txt'), 'utf8')).toBe('loose\n');
    // The other repository knows where its worktree went: not prunable, and usable there.
    const listed = await other.git(['worktree', 'list', '--porcelain']);
    expect(listed).toContain(`worktree ${await realpath(side)}`);
    expect(listed).not.toContain('prunable');
    expect(await other.git(['-C', side, 'status', '--porcelain'])).toBe('?? loose.txt');
  });
});

describe("a .git file naming the task worktree's own record", () => {
  it('is moved with its folder, and the record still names the task worktree', async () => {
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(repo);
    const first =
      'mkdir side && echo "gitdir: $(git rev-parse --absolute-git-dir)" > side/.git && echo f > side/f.txt';
    const agent = failOnce(first, 'test ! -e side || exit 3; echo done > done.txt');
    const result = await runPlan(repo.dir, plan([task('1')]), agent, { settings: { retries: 1 } });

    const run = result.state.tasks['1']!;
    expect(run.status, run.reason ?? '').toBe('completed');
    const side = join(
      result.executionDir,
      'kept',
      run.output_dir.split('/').pop()!,
      'attempt-1',
      'side',
    );
    expect(await readFile(join(side, 'f.txt'), 'utf8')).toBe('f\n');
    const listed = await repo.git(['worktree', 'list', '--porcelain']);
    expect(listed).toContain(`worktree ${await realpath(run.worktree)}`);
    expect(listed).not.toContain('side');
  });
});

describe('nested repositories before clean removes a worktree', () => {
  it.each([
    ['without a pool', undefined],
    ['with workspace.pool', 2],
  ])(
    "%s: moves the agent's repository out, and leaves the project's submodule checkout to go with the worktree",
    async (_, pool) => {
      const repo = await repoWithSubmodule();
      const result = await runPlan(repo.dir, plan([task('1')]), `${AGENT_REPO}; exit 1`, {
        env: FILE_PROTOCOL,
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
      const kept = join(result.executionDir, 'kept', run.output_dir.split('/').pop()!);
      expect(await readdir(kept)).toEqual(['clean']);
      expect(await readFile(join(kept, 'clean/vendor/x/mine.txt'), 'utf8')).toBe('mine\n');
      expect(await readdir(join(kept, 'clean'))).toEqual(['vendor']);
      expect(item.reason).toContain('vendor/x');
      expect(item.reason).not.toMatch(/\blib\b/);
    },
  );
});

describe("a submodule the agent added itself, whose git folder lives in the worktree's own", () => {
  it('clean --force keeps its history with its files in kept/, not a .git file naming a removed folder', async () => {
    const other = await createTempRepo({ files: { 'o.txt': 'other\n' } });
    const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    repos.push(other, repo);
    const agent = [
      `git -c protocol.file.allow=always submodule add -q ${other.dir} vendor/x`,
      `cd vendor/x && echo new > new.txt && git add new.txt && ${COMMIT} commit -qm only-here`,
      'exit 1',
    ].join(' && ');
    const result = await runPlan(repo.dir, plan([task('1')]), agent);
    const run = result.state.tasks['1']!;
    expect(run.status).toBe('failed');

    const cleaned = await cleanupExecution(result.state, {
      repoRoot: repo.dir,
      executionDir: result.executionDir,
      env: agentEnv(),
      force: true,
    });
    const item = cleaned.items.find((i) => i.kind === 'worktree')!;
    expect(item.action, item.reason).toBe('removed');
    const x = join(result.executionDir, 'kept', run.output_dir.split('/').pop()!, 'clean/vendor/x');
    expect(await readFile(join(x, 'new.txt'), 'utf8')).toBe('new\n');
    expect(await repo.git(['-C', x, 'log', '-1', '--format=%s'])).toBe('only-here');
    expect(await repo.git(['-C', x, 'status', '--porcelain'])).toBe('');
  });
});

/** A folder on another file system than the temp repositories, when this machine has one. */
const OTHER_DISK = ['/tmp', '/var/tmp', '/dev/shm'].find((dir) => {
  try {
    return statSync(dir).dev !== statSync(tmpdir()).dev;
  } catch {
    return false;
  }
});

describe('worktrees on another file system than the repository (workspace.worktreeRoot)', () => {
  it.skipIf(OTHER_DISK === undefined)(
    'a retry copies the nested repository into kept/ (rename fails with EXDEV) and goes on',
    async () => {
      const repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
      repos.push(repo);
      const root = await mkdtemp(join(OTHER_DISK!, 'pe-other-disk-'));
      try {
        const first = `${AGENT_REPO} && ln -s mine.txt vendor/x/link`;
        const agent = failOnce(first, 'test ! -e vendor/x || exit 3; echo done > done.txt');
        const result = await runPlan(repo.dir, plan([task('1')]), agent, {
          settings: { retries: 1, worktreeRoot: root },
        });
        const run = result.state.tasks['1']!;
        expect(run.status, run.reason ?? '').toBe('completed');
        const x = join(
          result.executionDir,
          'kept',
          run.output_dir.split('/').pop()!,
          'attempt-1',
          'vendor/x',
        );
        expect(await readFile(join(x, 'mine.txt'), 'utf8')).toBe('mine\n');
        expect(await readFile(join(x, 'link'), 'utf8')).toBe('mine\n');
        expect(await repo.git(['-C', x, 'rev-parse', '--is-inside-work-tree'])).toBe('true');
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  );
});
