import { scanEnvirons, type EnvironScanOptions } from './environ-scan.js';
import { readProc } from './proc.js';
import { setTimeout as delay } from 'node:timers/promises';
import { isProcessAlive } from './process-group.js';

/**
 * Processes an agent started that left its process tree: `setsid` (Claude Code's Bash tool runs
 * every command that way), `nohup … & disown`, a double-forked daemon. Re-parented to pid 1 in a
 * session of their own, they are out of reach of the group signals in process-group.ts; but they
 * still carry the environment the agent was started with, which /proc/<pid>/environ shows:
 * PE_EXECUTION_ID, and PE_WORKTREE, an absolute path no other run on the machine uses (an
 * execution id alone is only unique within its repository). Only a process that cleared its
 * environment escapes this.
 */
export interface ProcessOwner {
  executionId: string;
  taskId: string;
  worktree: string;
}

export interface MarkedProcess {
  pid: number;
  /** The task whose worktree its environment names. */
  taskId: string;
  /** Its command line, cut for a message. */
  command: string;
}

export interface StrayReport {
  stopped: MarkedProcess[];
  /** Still there after SIGKILL (uninterruptible sleep, or another user's by now). */
  running: MarkedProcess[];
}

const COMMAND_LIMIT = 120;
const POLL_MS = 50;

export interface MarkedProcesses {
  found: MarkedProcess[];
  /**
   * Processes whose environment could not be read in time (environ-scan.ts): whether they are
   * the execution's is unknown, so they are named, not stopped.
   */
  unread: number[];
}

/**
 * Every live process (but this one) whose environment names one of `owners`: its execution and
 * its task's worktree. Null where there is no /proc to look in (macOS, Windows).
 */
export async function findMarkedProcesses(
  owners: readonly ProcessOwner[],
  options: Pick<EnvironScanOptions, 'root' | 'stallMs'> = {},
): Promise<MarkedProcesses | null> {
  const scan = await scanEnvirons({ ...options, needle: 'PE_EXECUTION_ID=', self: process.pid });
  if (scan === null) return null;
  const found: MarkedProcess[] = [];
  for (const { pid, environ, cmdline } of scan.entries) {
    const variables = new Set(environ.split('\0'));
    const owner = owners.find(
      (candidate) =>
        variables.has(`PE_EXECUTION_ID=${candidate.executionId}`) &&
        variables.has(`PE_WORKTREE=${candidate.worktree}`),
    );
    if (owner === undefined || !isProcessAlive(pid)) continue;
    found.push({ pid, taskId: owner.taskId, command: commandLine(cmdline) });
  }
  return { found, unread: scan.unread.filter((pid) => isProcessAlive(pid)) };
}

/** For a warning: processes whose environment could not be read. */
export function describeUnread(pids: readonly number[]): string {
  const shown = pids.slice(0, 5).map((pid) => {
    const command = commandName(pid);
    return command === null ? `pid ${pid}` : `pid ${pid} (${command})`;
  });
  return `${shown.join(', ')}${pids.length > 5 ? `, and ${pids.length - 5} more` : ''}`;
}

/**
 * SIGTERM to each process, SIGKILL after `graceMs` to those left, then up to `killWaitMs` for
 * them to go. Each pid is signalled alone: its group may hold processes of someone else's.
 */
export async function stopProcesses(
  processes: readonly MarkedProcess[],
  graceMs: number,
  killWaitMs: number,
): Promise<StrayReport> {
  const alive = (list: readonly MarkedProcess[]): MarkedProcess[] =>
    list.filter((entry) => isProcessAlive(entry.pid));
  let left = signalEach(processes, 'SIGTERM');
  left = await waitGone(left, graceMs, alive);
  if (left.length > 0) left = await waitGone(signalEach(left, 'SIGKILL'), killWaitMs, alive);
  const running = new Set(left);
  return { stopped: processes.filter((entry) => !running.has(entry)), running: left };
}

/** For a warning: `pid 4242 (sleep 300)`. */
export function describeProcess(entry: MarkedProcess): string {
  return `pid ${entry.pid} (${entry.command})`;
}

function signalEach(processes: readonly MarkedProcess[], signal: NodeJS.Signals): MarkedProcess[] {
  return processes.filter((entry) => {
    try {
      process.kill(entry.pid, signal);
      return true;
    } catch (error) {
      // ESRCH: gone already. EPERM: not ours to stop; it is reported as still running.
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
}

async function waitGone(
  processes: MarkedProcess[],
  timeoutMs: number,
  alive: (list: readonly MarkedProcess[]) => MarkedProcess[],
): Promise<MarkedProcess[]> {
  const deadline = Date.now() + timeoutMs;
  let left = alive(processes);
  while (left.length > 0 && Date.now() < deadline) {
    await delay(POLL_MS);
    left = alive(left);
  }
  return left;
}

function commandLine(raw: string): string {
  const command = raw.split('\0').filter(Boolean).join(' ') || '?';
  return command.length > COMMAND_LIMIT ? `${command.slice(0, COMMAND_LIMIT - 1)}…` : command;
}

/** The name in /proc/<pid>/stat (read without touching the process's memory), or null. */
function commandName(pid: number): string | null {
  const stat = readProc(pid, 'stat');
  if (stat === null) return null;
  return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
}
