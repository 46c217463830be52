import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GitError, MissingDirectoryError } from '../errors.js';

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
export function git(
  cwd: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...NON_INTERACTIVE, ...args], {
      cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(spawnFailure(args, cwd, error)));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const exitCode = code ?? -1;
      if (exitCode === 0 || options.allowExitCodes?.includes(exitCode)) {
        resolve({ stdout, stderr, exitCode });
        return;
      }
      reject(new GitError(args, code, stderr || stdout, cwd));
    });
    child.stdin.end(options.input);
  });
}

/**
 * Node reports a missing working directory as `spawn git ENOENT`, as if git were not installed;
 * the two are told apart here, since they call for different fixes.
 */
function spawnFailure(args: readonly string[], cwd: string, error: Error): Error {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
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
  '-c',
  'core.pager=cat',
  '-c',
  'core.editor=true',
  '-c',
  'credential.interactive=never',
  '-c',
  'core.quotePath=false',
];
