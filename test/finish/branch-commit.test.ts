/**
 * The one "commit these files on this branch" of every shell (the report and the plan, on the
 * integration branch): nothing is checked out, the user's checkout and index stay as they were,
 * a file keeps its mode, and a branch a worktree has checked out is refused, not moved under it.
 */
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/engine/config/load.js';
import { CONFIG_PATH } from '../../src/engine/config/schema.js';
import { ConfigurationError } from '../../src/engine/errors.js';
import { commitOnBranch } from '../../src/engine/finish/branch-commit.js';
import { DEFAULT_IDENTITY } from '../../src/engine/workspace/identity.js';
import { createTempRepo, gitTestEnv, type TempRepo } from '../support/git-repo.js';

describe('commitOnBranch', () => {
  let repo: TempRepo;
  beforeEach(async () => {
    repo = await createTempRepo({ files: { 'plan.md': 'plan\n', 'run.sh': 'echo\n' } });
    await chmod(join(repo.dir, 'run.sh'), 0o755);
    await repo.commit('run.sh executable');
    await repo.git(['branch', 'integration/x']);
  });
  afterEach(() => repo.cleanup());

  const commit = (branch: string) =>
    commitOnBranch({
      repoRoot: repo.dir,
      branch,
      files: [
        { path: 'reports/x.md', content: () => '# Report\n' },
        { path: 'plan.md', content: (current) => `${current}- [x] done\n` },
        { path: 'run.sh', content: (current) => `${current}echo more\n` },
        { path: 'left.md', content: () => null },
      ],
      message: 'parallel-executor: report',
      identity: DEFAULT_IDENTITY,
      env: gitTestEnv(),
    });

  it('commits on the branch from its content, touching neither the checkout nor its index', async () => {
    await repo.write('plan.md', 'my own edit\n');
    await repo.git(['add', 'plan.md']);
    const before = await repo.git(['status', '--porcelain']);
    const head = await repo.git(['rev-parse', 'HEAD']);

    const result = await commit('integration/x');

    expect(result.written).toEqual(['reports/x.md', 'plan.md', 'run.sh']);
    expect(await repo.git(['rev-parse', 'integration/x'])).toBe(result.sha);
    expect(await repo.git(['rev-parse', `${result.sha}^`])).toBe(head);
    expect(await repo.git(['show', 'integration/x:plan.md'])).toBe('plan\n- [x] done');
    expect(await repo.git(['ls-tree', 'integration/x', 'run.sh'])).toMatch(/^100755 /);
    expect(await repo.git(['log', '-1', '--format=%an <%ae> %s', 'integration/x'])).toBe(
      'parallel-executor <parallel-executor@localhost> parallel-executor: report',
    );
    expect(await repo.git(['rev-parse', 'HEAD'])).toBe(head);
    expect(await repo.git(['status', '--porcelain'])).toBe(before);
    expect(await readFile(join(repo.dir, 'plan.md'), 'utf8')).toBe('my own edit\n');
    expect(await repo.git(['worktree', 'list', '--porcelain'])).not.toContain('commit-');
  });

  it('makes no commit when every file already says so', async () => {
    const first = await commit('integration/x');
    const again = await commitOnBranch({
      repoRoot: repo.dir,
      branch: 'integration/x',
      files: [{ path: 'reports/x.md', content: () => '# Report\n' }],
      message: 'again',
      identity: DEFAULT_IDENTITY,
      env: gitTestEnv(),
    });
    expect(again).toEqual({ sha: first.sha, written: [] });
  });

  it('refuses a branch a worktree has checked out, and says which', async () => {
    await expect(commit('main')).rejects.toThrow(
      `cannot commit the report on main: it is checked out in ${repo.dir}`,
    );
    expect(await repo.git(['log', '-1', '--format=%s', 'main'])).toBe('run.sh executable');
  });
});

describe('readConfigFile', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'pe-config-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives every default without a file, and refuses one it cannot read', async () => {
    expect((await readConfigFile(dir)).report).toEqual({
      dir: 'reports',
      writeBack: 'integration-branch',
    });
    // A folder where the file should be: not silently the defaults.
    await mkdir(join(dir, CONFIG_PATH), { recursive: true });
    const error = await readConfigFile(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(`${CONFIG_PATH}: is a folder`);
    expect((error as ConfigurationError).hint).toBe('Name the YAML file itself.');
  });
});
