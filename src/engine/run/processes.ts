import { setTimeout as delay } from 'node:timers/promises';

/** Whether a process exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  for (const target of [-pgid, pgid]) {
    try {
      process.kill(target, signal);
    } catch {
      // gone, or not a group leader: the other target covers it
    }
  }
}

/**
 * End an agent left behind by an orchestrator that died: its process group gets SIGTERM, then
 * SIGKILL after the grace period. Agents are started as group leaders, so the pid is the group id.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupAlive(pgid) && !isAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid) && !isAlive(pgid)) return;
    await delay(50);
  }
  signalGroup(pgid, 'SIGKILL');
  for (let i = 0; i < 40 && (groupAlive(pgid) || isAlive(pgid)); i += 1) await delay(50);
}
