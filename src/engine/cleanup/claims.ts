import path from 'node:path';
import type { ExecutionState } from '../state/schema.js';
import { listExecutions } from '../run/executions.js';
import { recordedRepairs } from '../state/repairs.js';

/**
 * Worktree folders and branch names are freed by clean-up and then reused by later executions, so
 * an old state may name a worktree or branch that is now another execution's work. The newest
 * execution that records a name owns it: these are the names executions newer than the one being
 * cleaned record (their tasks', their repairs' and their integrations'), with the id of the newest.
 */
export interface Claims {
  /** Resolved worktree path → execution id. */
  worktrees: Map<string, string>;
  /** Branch name → execution id. */
  branches: Map<string, string>;
}

export async function newerClaims(repoRoot: string, state: ExecutionState): Promise<Claims> {
  const claims: Claims = { worktrees: new Map(), branches: new Map() };
  // Oldest first, so the newest claim of a name is the one left in the map.
  for (const entry of await listExecutions(repoRoot)) {
    const other = entry.state;
    if (other === null || !isNewer(other, state)) continue;
    for (const run of Object.values(other.tasks)) {
      claims.worktrees.set(path.resolve(run.worktree), other.execution_id);
      claims.branches.set(run.branch, other.execution_id);
    }
    for (const integration of [other.integration, ...(other.earlier_integrations ?? [])])
      if (integration != null) claims.branches.set(integration.branch, other.execution_id);
    for (const repair of recordedRepairs(other)) {
      if (repair.worktree !== null)
        claims.worktrees.set(path.resolve(repair.worktree), other.execution_id);
      claims.branches.set(repair.branch, other.execution_id);
    }
  }
  return claims;
}

function isNewer(other: ExecutionState, than: ExecutionState): boolean {
  if (other.execution_id === than.execution_id) return false;
  const order = other.started_at.localeCompare(than.started_at);
  return order > 0 || (order === 0 && other.execution_id > than.execution_id);
}
