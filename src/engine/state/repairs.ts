import type { RepairRecord } from '../integrate/schema.js';
import type { ExecutionState } from './schema.js';

/** One repair attempt's branch and worktree, as the state records them. */
export interface RecordedRepair {
  taskId: string;
  /** The attempt's number; null for a record older than per-attempt workspaces. */
  attempt: number | null;
  branch: string;
  /** Null when the record names no worktree (an older record: the branch alone). */
  worktree: string | null;
  /** The branch tip the attempt ended with; null when unknown (under way, or an older record). */
  headSha: string | null;
  /** Under way when the orchestrator stopped (`integration.repairing`). */
  inFlight: boolean;
  /** Where work kept by clean is recorded; null for an attempt under way without a record yet. */
  record: RepairRecord | null;
  /** The branch of the earlier integration `resume` set aside that this repair was for, or null. */
  setAside: string | null;
}

/**
 * Every repair attempt's branch and worktree this execution's state records, for its integration
 * and the earlier ones `resume` set aside: each record's attempts (a record older than those: its
 * last branch), then the attempts under way. These
 * names, and no others, are what clean may remove for the repairs.
 */
export function recordedRepairs(state: ExecutionState): RecordedRepair[] {
  const found: RecordedRepair[] = [];
  const seen = new Set<string>();
  const add = (entry: RecordedRepair) => {
    if (entry.branch === '' || seen.has(entry.branch)) return;
    seen.add(entry.branch);
    found.push(entry);
  };
  const integrations = [
    ...(state.integration === null ? [] : [{ integration: state.integration, setAside: null }]),
    ...(state.earlier_integrations ?? []).map((integration) => ({
      integration,
      setAside: integration.branch,
    })),
  ];
  for (const { integration, setAside } of integrations) {
    for (const record of integration.repairs ?? []) {
      for (const workspace of record.workspaces ?? []) {
        add({
          taskId: record.taskId,
          attempt: workspace.attempt,
          branch: workspace.branch,
          worktree: workspace.worktree,
          headSha: workspace.headSha,
          inFlight: false,
          record,
          setAside,
        });
      }
      add({
        taskId: record.taskId,
        attempt: null,
        branch: record.branch,
        worktree: null,
        headSha: null,
        inFlight: false,
        record,
        setAside,
      });
    }
  }
  for (const entry of state.integration?.repairing?.attempts ?? []) {
    add({
      taskId: entry.taskId,
      attempt: entry.attempt,
      branch: entry.branch,
      worktree: entry.worktree,
      headSha: null,
      inFlight: true,
      record: (state.integration?.repairs ?? []).find((r) => r.taskId === entry.taskId) ?? null,
      setAside: null,
    });
  }
  return found;
}
