import { existsSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';
import { GitError, MissingDirectoryError } from '../errors.js';
import type { ConfigGuard } from './config-guard.js';
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
  /**
   * Look for the repository above `cwd` too, as git does by default: only for finding the user's
   * repository from where they stand. Otherwise `cwd` is a repository's top (the user's checkout,
   * a task's worktree, a nested repository) and git stops there: a task worktree whose `.git` an
   * agent removed then fails the command instead of git finding the user's checkout above it and
   * running the command there (a checkout, a clean, a commit on the user's branch).
   */
  discover?: boolean;
  /** Not hardened by a config guard (the guard's own reading of the config). */
  unguarded?: boolean;
}

const guards = new Set<ConfigGuard>();

/**
 * Harden every git call under the guard's folders until the returned function is called (see
 * config-guard.ts).
 */
export function addConfigGuard(guard: ConfigGuard): () => void {
  guards.add(guard);
  return () => guards.delete(guard);
}

/** The guard whose folders hold `cwd`, if one is on. */
export function configGuardFor(cwd: string): ConfigGuard | undefined {
  for (const guard of guards) if (guard.covers(cwd)) return guard;
  return undefined;
}

/** `env` with the settings of the guards covering `cwd` added (GIT_CONFIG_COUNT, …). */
async function guarded(
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  if (guards.size === 0) return env;
  const pairs = [];
  let workTree: string | null = null;
  for (const guard of guards) {
    if (!guard.covers(cwd)) continue;
    pairs.push(...(await guard.overrides()));
    workTree ??= await guard.workTree(cwd);
  }
  // The environment's own choice stands (GIT_DIR or GIT_WORK_TREE given by whoever started us).
  if (workTree !== null && env['GIT_WORK_TREE'] === undefined && env['GIT_DIR'] === undefined)
    env = { ...env, GIT_WORK_TREE: workTree };
  if (pairs.length === 0) return env;
  const had = Number(env['GIT_CONFIG_COUNT'] ?? '0');
  const first = Number.isInteger(had) && had > 0 ? had : 0;
  const added: Record<string, string> = { GIT_CONFIG_COUNT: String(first + pairs.length) };
  pairs.forEach(([key, value], i) => {
    added[`GIT_CONFIG_KEY_${first + i}`] = key;
    added[`GIT_CONFIG_VALUE_${first + i}`] = value;
  });
  return { ...env, ...added };
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
  // No settings read here: git gets the environment a process started now would inherit.
  // eslint-disable-next-line no-restricted-properties
  const base = options.env ?? process.env;
  const env = options.discover === true ? base : withCeiling(base, dirname(resolve(cwd)));
  let result;
  try {
    result = await runThroughHelper({
      cwd,
      args: [...NON_INTERACTIVE, ...args],
      env: options.unguarded === true ? env : await guarded(cwd, env),
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

/** `env` with `folder` added to GIT_CEILING_DIRECTORIES: git does not look for a repository in it. */
function withCeiling(
  env: Record<string, string | undefined>,
  folder: string,
): Record<string, string | undefined> {
  const ceilings = env['GIT_CEILING_DIRECTORIES'];
  return {
    ...env,
    GIT_CEILING_DIRECTORIES: ceilings ? `${ceilings}${delimiter}${folder}` : folder,
  };
}

/**
 * For the tool's own commits, merges and checkouts: no hook of the repository's (or one an agent
 * planted) runs in the orchestrator. Every call has it already (NON_INTERACTIVE); kept where a
 * call says so itself.
 */
export const NO_HOOKS: readonly string[] = ['-c', 'core.hooksPath=/dev/null'];

/** For `git diff` and `git log -p`: no `diff.external` or `diff.<driver>.command`, no textconv. */
export const RAW_DIFF: readonly string[] = ['--no-ext-diff', '--no-textconv'];

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
  // Worktrees share the repository's config and hooks folder, so an agent can set
  // core.fsmonitor or put a hook (reference-transaction runs on every ref update) there: the
  // tool's own git runs neither. Neither is needed: fsmonitor only makes status faster.
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
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
