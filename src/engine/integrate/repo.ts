import { GitError } from '../errors.js';
import { git, NO_HOOKS, type GitResult } from '../workspace/git-exec.js';

/**
 * git in one directory of the repository, with the settings integration needs on every call:
 * - hooks off: the user's commit-msg or pre-commit hooks (commitlint, lint-staged) would reject
 *   or slow down machine-made merge commits; the integration tests are the check here;
 * - rerere off: a recorded resolution would resolve a conflict silently, and conflicts are
 *   never resolved here, only reported.
 */
export interface RepoGit {
  readonly cwd: string;
  run(args: readonly string[], allowExitCodes?: number[]): Promise<GitResult>;
  /** Trimmed stdout. */
  text(args: readonly string[]): Promise<string>;
}

export function repoGit(
  cwd: string,
  env: Record<string, string>,
  extraConfig: readonly string[] = [],
): RepoGit {
  const config = [...NO_HOOKS, '-c', 'rerere.enabled=false', ...extraConfig];
  const run = (args: readonly string[], allowExitCodes: number[] = []) =>
    git(cwd, [...config, ...args], { env, allowExitCodes });
  return {
    cwd,
    run,
    text: async (args) => (await run(args)).stdout.trim(),
  };
}

/**
 * A fallback identity for the merge commits when git has none configured, so integration does
 * not stop at "Please tell me who you are". A configured identity is always kept.
 */
export async function identityConfig(cwd: string, env: Record<string, string>): Promise<string[]> {
  const probe = await git(cwd, ['var', 'GIT_COMMITTER_IDENT'], { env, allowExitCodes: [128] });
  if (probe.exitCode === 0) return [];
  return ['-c', 'user.name=parallel-executor', '-c', 'user.email=parallel-executor@localhost'];
}

/** The commit a ref names, or null when there is none. */
export async function resolveCommit(repo: RepoGit, ref: string): Promise<string | null> {
  // A leading dash would be read as an option.
  if (ref.startsWith('-')) return null;
  const result = await repo.run(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], [1, 128]);
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/**
 * Put the integration worktree exactly at `commit`: no merge in progress, no changed or untracked
 * files (ignored ones such as node_modules stay), then check that it is so.
 */
export async function resetTo(repo: RepoGit, commit: string): Promise<void> {
  // `reset --hard` also ends a merge in progress (MERGE_HEAD goes with it).
  await repo.run(['reset', '-q', '--hard', commit]);
  await repo.run(['clean', '-q', '-fd']);
  await assertClean(repo, commit);
}

export async function assertClean(repo: RepoGit, commit: string): Promise<void> {
  const head = await repo.text(['rev-parse', 'HEAD']);
  const status = await repo.text(['status', '--porcelain', '--untracked-files=all']);
  if (head === commit && status === '') return;
  throw new GitError(
    ['status', '--porcelain'],
    null,
    `integration worktree not clean at ${commit}: HEAD ${head}, status ${JSON.stringify(status)}`,
    repo.cwd,
  );
}
