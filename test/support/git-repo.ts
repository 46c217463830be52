/** Real git repositories in temp dirs, with a deterministic identity and no signing. */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git } from '../../src/engine/workspace/git-exec.js';

export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_AUTHOR_DATE: '2026-01-01T12:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T12:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  HOME: tmpdir(),
  PATH: process.env.PATH ?? '',
};

export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `pe-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** `git -c … <args>` in `cwd` with the test identity. */
export function run(cwd: string, args: string[]) {
  return git(cwd, ['-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', ...args], { env: GIT_ENV });
}

export async function initRepo(dir: string, branch = 'main'): Promise<void> {
  await run(dir, ['init', '-q', '-b', branch]);
}

/** Fixed identity so tests never depend on (or touch) the machine's git config. */
export const TEST_IDENTITY = { name: 'Test Author', email: 'test@example.invalid' };

export interface TempRepo {
  /** Absolute, symlink-free path of the repository's working tree. */
  dir: string;
  /** Run git in the repository; returns stdout with the trailing newline removed. */
  git(args: readonly string[], cwd?: string): Promise<string>;
  write(path: string, content: string): Promise<void>;
  /** Stage everything and commit; returns the new HEAD sha. */
  commit(message: string): Promise<string>;
  cleanup(): Promise<void>;
}

export interface TempRepoOptions {
  files?: Record<string, string>;
  /** Name of the initial branch (default `main`). */
  branch?: string;
}

/**
 * A real git repository in a temp dir with one commit, deterministic identity, no signing and no
 * background gc. Others may reuse it: nothing here is specific to the engine's tests.
 */
export async function createTempRepo(options: TempRepoOptions = {}): Promise<TempRepo> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-repo-')));
  const env = gitTestEnv();
  const run = async (args: readonly string[], cwd = dir) =>
    (await git(cwd, args, { env })).stdout.replace(/\n$/, '');
  await run(['init', '-q', '-b', options.branch ?? 'main']);
  for (const [key, value] of Object.entries({
    'user.name': TEST_IDENTITY.name,
    'user.email': TEST_IDENTITY.email,
    'commit.gpgsign': 'false',
    'gc.auto': '0',
  })) {
    await run(['config', key, value]);
  }
  const write = async (path: string, content: string) => {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  };
  const commit = async (message: string) => {
    await run(['add', '-A']);
    await run(['commit', '-q', '--allow-empty', '-m', message]);
    return run(['rev-parse', 'HEAD']);
  };
  for (const [path, content] of Object.entries(options.files ?? { 'README.md': '# test\n' })) {
    await write(path, content);
  }
  await commit('initial commit');
  return {
    dir,
    git: run,
    write,
    commit,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The process environment with git's identity pinned and global/system config ignored, so a
 * developer's signing or hooks settings cannot change what a test sees.
 */
export function gitTestEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: TEST_IDENTITY.name,
    GIT_AUTHOR_EMAIL: TEST_IDENTITY.email,
    GIT_COMMITTER_NAME: TEST_IDENTITY.name,
    GIT_COMMITTER_EMAIL: TEST_IDENTITY.email,
  };
}

/** Submodules from a local path need the file protocol, which git refuses by default: tests only. */
export const FILE_PROTOCOL = {
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'protocol.file.allow',
  GIT_CONFIG_VALUE_0: 'always',
};

/** `library` added to `repo` as the submodule `lib`, committed. */
export async function addSubmodule(repo: TempRepo, library: TempRepo): Promise<void> {
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
}
