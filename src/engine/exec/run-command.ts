import { spawn } from 'node:child_process';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ParallelExecutorError } from '../errors.js';

export interface RunCommandOptions {
  /**
   * Trusted shell text from the user's own configuration, run with `sh -c`. Never build it from
   * plan text, titles or comments: those go in env vars or files.
   */
  command: string;
  /**
   * Positional parameters for the command (`"$@"` in it), passed to `sh` as arguments, never
   * spliced into the shell text: safe for file names an agent chose.
   */
  args?: readonly string[];
  cwd: string;
  /** The child's whole environment (the engine reads no process.env; the shell passes it in). */
  env: Record<string, string>;
  /** stdout, and stderr too unless `stderrFile` is given, are written here (created or truncated). */
  outputFile: string;
  /** Keep stderr apart, e.g. when stdout must stay parseable JSON (`npm audit --json`). */
  stderrFile?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Between SIGTERM to the process group and SIGKILL. */
  graceMs?: number;
}

export interface RunCommandResult {
  /** Null when the command ended by a signal (timeout, abort, or a crash). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  timedOut: boolean;
  aborted: boolean;
}

const DEFAULT_GRACE_MS = 5_000;

/**
 * Run one trusted shell command in its own process group, output to a file. On abort or timeout
 * the whole group is stopped (SIGTERM, then SIGKILL after the grace period), so test runners'
 * worker processes do not outlive the check. Processes the command left running in its group
 * after it exited are sent SIGTERM too: a validation step must not leave servers behind.
 */
export async function runCommand(options: RunCommandOptions): Promise<RunCommandResult> {
  const started = performance.now();
  if (options.signal?.aborted) {
    return { exitCode: null, signal: null, durationMs: 0, timedOut: false, aborted: true };
  }
  await mkdir(dirname(options.outputFile), { recursive: true });
  const out = await open(options.outputFile, 'w');
  let err: FileHandle | null = null;
  try {
    if (options.stderrFile !== undefined) {
      await mkdir(dirname(options.stderrFile), { recursive: true });
      err = await open(options.stderrFile, 'w');
    }
    return await spawnInGroup(options, out.fd, err?.fd ?? out.fd, started);
  } finally {
    await out.close();
    await err?.close();
  }
}

function spawnInGroup(
  options: RunCommandOptions,
  stdoutFd: number,
  stderrFd: number,
  started: number,
): Promise<RunCommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', options.command, 'sh', ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', stdoutFd, stderrFd],
      detached: true,
    });
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      signalGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(
        () => signalGroup(child.pid, 'SIGKILL'),
        options.graceMs ?? DEFAULT_GRACE_MS,
      );
    };
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanUp = (): void => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (error) => {
      cleanUp();
      // ENOENT here is nearly always the working directory, not `sh`.
      const message = `cannot run "${options.command}" in ${options.cwd}: ${error.message}`;
      reject(
        new ParallelExecutorError(message, 'Check that the directory exists.', { cause: error }),
      );
    });
    child.on('exit', (code, signal) => {
      cleanUp();
      signalGroup(child.pid, 'SIGTERM');
      resolve({
        exitCode: code,
        signal,
        durationMs: performance.now() - started,
        timedOut,
        aborted,
      });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}
