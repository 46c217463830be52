import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Signals and liveness for a whole process group. Agents are spawned as group leaders
 * (`detached: true`), so their shells, test runners and dev servers share the leader's pgid and
 * can be stopped together. A grandchild that calls setsid() itself escapes; nothing short of
 * cgroups catches that.
 */

/** Sends `signal` to every process of the group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (isErrno(error, 'ESRCH')) return false;
    throw error;
  }
}

/**
 * True while the group has a member that is not a zombie. Zombies count as gone: when the leader
 * dies first, its children are re-parented to pid 1, and some container inits reap them only every
 * few seconds (about 2 s on the machine this was written on) or never.
 */
export async function isGroupAlive(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  const states = await memberStates(pgid);
  // Without /proc (macOS) the kill probe is all there is.
  if (states === null) return true;
  return states.some((state) => state !== 'Z' && state !== 'X');
}

/** Polls until the group is gone or `timeoutMs` passed; true when it is gone. */
export async function waitForGroupExit(
  pgid: number,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isGroupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await delay(intervalMs);
  }
}

/** Process states (`R`, `S`, `Z`, …) of the group's members from /proc, or null when unavailable. */
async function memberStates(pgid: number): Promise<string[] | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const states: string[] = [];
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
        if (stat === null) return;
        // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so split after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid && fields[0] !== undefined) states.push(fields[0]);
      }),
  );
  return states;
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
