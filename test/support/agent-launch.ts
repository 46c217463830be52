import { mkdtemp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEvent, AgentHandle, AgentLaunch } from '../../src/engine/ports/agent-runner.js';

/** A temp folder with a worktree dir and an execution dir, removed by `cleanup()`. */
export async function makeSandbox(): Promise<{
  root: string;
  launch(overrides?: Partial<AgentLaunch>): AgentLaunch;
  cleanup(): Promise<void>;
}> {
  const root = await mkdtemp(join(tmpdir(), 'pe-agents-'));
  const worktree = join(root, 'worktree');
  await mkdir(worktree);
  return {
    root,
    launch: (overrides = {}) => ({
      executionId: 'exec-1',
      taskId: '1.1',
      taskTitle: 'Build the thing',
      agent: 'Builder-1',
      branch: 'agent/builder-1/build-the-thing',
      worktree,
      contextFile: join(worktree, 'AGENT_CONTEXT.md'),
      statusFile: join(root, 'execution', 'status', 'builder-1.json'),
      logFile: join(root, 'execution', 'logs', 'builder-1.log'),
      port: 41000,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      ...overrides,
    }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface TimedEvent {
  at: number;
  event: AgentEvent;
}

/** Reads a handle's events in the background; `waitFor` resolves when one matches. */
export function recordEvents(handle: AgentHandle): {
  events: TimedEvent[];
  waitFor(match: (event: AgentEvent) => boolean, timeoutMs?: number): Promise<TimedEvent>;
  finished: Promise<void>;
} {
  const events: TimedEvent[] = [];
  const waiters: Array<{
    match: (event: AgentEvent) => boolean;
    resolve: (timed: TimedEvent) => void;
  }> = [];
  const finished = (async () => {
    for await (const event of handle.events) {
      const timed = { at: Date.now(), event };
      events.push(timed);
      for (const waiter of [...waiters]) {
        if (!waiter.match(event)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(timed);
      }
    }
  })();
  return {
    events,
    finished,
    waitFor(match, timeoutMs = 15_000) {
      const seen = events.find((timed) => match(timed.event));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching event within ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.event))}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (timed) => {
            clearTimeout(timer);
            resolve(timed);
          },
        });
      });
    },
  };
}

/** Pids of the group's members that are not zombies, read straight from /proc. */
export async function liveGroupMembers(pgid: number): Promise<number[]> {
  const live: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

/**
 * Polls `kill(-pgid, 0)` until it throws ESRCH. Orphaned zombies keep the group visible until
 * pid 1 reaps them, which takes about 2 s on this machine, hence the generous deadline.
 */
export async function groupVanishes(pgid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** The processes below `pid` (children, grandchildren, …) with their groups, from /proc. */
export async function descendants(
  pid: number,
): Promise<Array<{ pid: number; pgid: number; args: string }>> {
  const table: Array<{ pid: number; ppid: number; pgid: number }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length > 3 && fields[0] !== 'Z')
      table.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[2]) });
  }
  const found: Array<{ pid: number; pgid: number; args: string }> = [];
  const stack = [pid];
  while (stack.length > 0) {
    const parent = stack.pop() as number;
    for (const info of table.filter((row) => row.ppid === parent)) {
      const args = (await readFile(`/proc/${info.pid}/cmdline`, 'utf8').catch(() => ''))
        .split('\0')
        .join(' ')
        .trim();
      found.push({ pid: info.pid, pgid: info.pgid, args });
      stack.push(info.pid);
    }
  }
  return found;
}

/** True when `pid` no longer runs (gone, or a zombie waiting for its parent to reap it). */
export async function isGone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return true;
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}
