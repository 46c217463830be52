import { createProcessTree, terminateTree } from '../agents/process-group.js';

/**
 * End an agent left behind by an orchestrator that died: its process tree (its group, and the
 * groups its descendants moved into) gets SIGTERM, then SIGKILL after the grace period. Agents
 * are started as group leaders, so the recorded pid is the group id.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  await terminateTree(createProcessTree(pgid), graceMs, 5_000);
}
