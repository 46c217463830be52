import { readFileSync } from 'node:fs';
import { signalGroup, waitForGroupExit } from '../agents/process-group.js';

/**
 * Whether a process exists and is not a zombie (EPERM: it exists but belongs to someone else).
 * A killed agent's children linger as zombies until pid 1 reaps them; they are gone for us.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (macOS): the signal probe is all there is.
    return true;
  }
}

/**
 * End an agent left behind by an orchestrator that died: its process group gets SIGTERM, then
 * SIGKILL after the grace period. Agents are started as group leaders, so the pid is the group id.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitForGroupExit(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitForGroupExit(pgid, 5_000);
}
