/** Real git repositories in temp dirs, with a deterministic identity and no signing. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
