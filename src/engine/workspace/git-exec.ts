import { existsSync } from 'node:fs';
import { GitError, MissingDirectoryError } from '../errors.js';
import { HelperSpawnError, runThroughHelper } from './git-helper.js';

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitOptions {
  /** Accept these non-zero exit codes instead of throwing (e.g. merge conflicts answer 1). */
  allowExitCodes?: number[];
  input?: string;
  /** The child's whole environment; omitted, git inherits the process's (the shell decides). */
  env?: Record<string, string>;
}

/**
 * Run real git with an argument vector (never a shell line, so plan text cannot inject commands).
 * Prompts and pagers are off so a run never hangs waiting for a terminal.
 */
export async function git(
  cwd: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<GitResult> {
  let result;
  try {
    result = await runThroughHelper({
      cwd,
      args: [...NON_INTERACTIVE, ...args],
      // No settings read here: git gets the environment a process started now would inherit.
      // eslint-disable-next-line no-restricted-properties
      env: options.env ?? process.env,
      input: options.input,
    });
  } catch (error) {
    throw error instanceof HelperSpawnError
      ? spawnFailure(args, cwd, error)
      : new GitError(args, null, String(error instanceof Error ? error.message : error), cwd);
  }
  const stdout = result.stdout.toString('utf8');
  const stderr = result.stderr.toString('utf8');
  const exitCode = result.code ?? -1;
  if (exitCode === 0 || options.allowExitCodes?.includes(exitCode)) {
    return { stdout, stderr, exitCode };
  }
  throw new GitError(args, result.code, stderr || stdout, cwd);
}

/**
 * For the tool's own commits, merges and checkouts: no hook of the repository's (or one an agent
 * planted) runs in the orchestrator.
 */
export const NO_HOOKS: readonly string[] = ['-c', 'core.hooksPath=/dev/null'];

/**
 * Node reports a missing working directory as `spawn git ENOENT`, as if git were not installed;
 * the two are told apart here, since they call for different fixes.
 */
function spawnFailure(args: readonly string[], cwd: string, error: HelperSpawnError): Error {
  if (error.code !== 'ENOENT') {
    return new GitError(args, null, String(error), cwd);
  }
  if (!existsSync(cwd)) return new MissingDirectoryError(cwd, `git ${args[0] ?? ''}`.trim());
  return new GitError(args, null, 'git was not found: install git, or put it on PATH', cwd);
}

/**
 * Whatever the environment holds, git never waits for a pager, an editor or a password prompt.
 * Replace refs (`git replace`, shared by every worktree, never pushed by default) are not
 * followed: an agent's could make the start commit read as its own work, so that work would look
 * already committed, and merges would not be what a push carries.
 */
const NON_INTERACTIVE = [
  '-c',
  'core.useReplaceRefs=false',
  // The tool's commits and merges do not start `git maintenance run --auto` (a process each, and
  // a detached gc that could outlive the run and race with worktree removal); the user's next
  // commit does.
  '-c',
  'maintenance.auto=false',
  '-c',
  'core.pager=cat',
  '-c',
  'core.editor=true',
  '-c',
  'credential.interactive=never',
  '-c',
  'core.quotePath=false',
];
