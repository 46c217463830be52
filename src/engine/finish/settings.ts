import type { Config } from '../config/schema.js';
import type { ExecutionState } from '../state/schema.js';
import { DEFAULT_IDENTITY, type GitIdentity } from '../workspace/identity.js';

export type WriteBackMode = Config['report']['writeBack'];

/**
 * How an execution is finished once its agents are done (the seed's Phases 4 and 5): the config's
 * `validation`, `integration` and `report` sections, with the shell's flags already applied.
 */
export interface FinishSettings {
  validation: Config['validation'];
  integration: Config['integration'];
  report: Config['report'];
  /** The config's `workspace.setup`, run once in the fresh integration worktree too. */
  setupCommand: string | null;
  /** Who the report commit is by (the tool's own bookkeeping identity). */
  identity: GitIdentity;
  /** Per validation check and per integration test run; none by default. */
  checkTimeoutMs?: number;
  /** Archive, remove worktrees and delete merged branches after a fully integrated run (default true). */
  cleanUp?: boolean;
  /** The config's `workspace.pool`: clean-up parks up to this many worktrees for the next run. */
  pool?: number;
}

export const DEFAULT_FINISH_SETTINGS: FinishSettings = {
  validation: { critical: ['tests', 'build'] },
  integration: {
    strategy: 'batch-bisect',
    detectConflicts: true,
    branchPrefix: 'integration/',
    onRisk: 'report',
  },
  report: { dir: 'reports', writeBack: 'integration-branch' },
  setupCommand: null,
  identity: DEFAULT_IDENTITY,
};

/** Whether a finished execution is cleaned up right after its report: once every task landed. */
export function cleansUpAfterReport(state: ExecutionState, settings: FinishSettings): boolean {
  return state.status === 'completed' && (settings.cleanUp ?? true);
}
