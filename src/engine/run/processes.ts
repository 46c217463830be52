import { readFileSync } from 'node:fs';
import { createProcessTree } from '../agents/process-group.js';

/**
 * Whether a process exists and is not a zombie (EPERM: it exists but belongs to someone else).
 * A killed agent's children linger as zombies until pid 1 reaps them; they are gone for us.
 */
export function isAlive(pid: number): boolean {
  // 0 and negative numbers would probe process groups (our own, for 0), not a process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
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
 * End an agent left behind by an orchestrator that died: its process tree (its group, and the
 * groups its descendants moved into) gets SIGTERM, then SIGKILL after the grace period. Agents
 * are started as group leaders, so the recorded pid is the group id.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  const tree = createProcessTree(pgid);
  tree.refresh();
  if (!tree.signal('SIGTERM')) return;
  if (await tree.waitForExit(graceMs)) return;
  tree.signal('SIGKILL');
  await tree.waitForExit(5_000);
}
