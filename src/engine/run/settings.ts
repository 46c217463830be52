import { DEFAULT_IDENTITY, type GitIdentity } from '../workspace/identity.js';

/** Everything an execution can be tuned with, already resolved from flags and config by the shell. */
export interface ExecutionSettings {
  /** Cap on tasks running at once; null = every ready task. */
  concurrency: number | null;
  taskTimeoutMs: number;
  idleTimeoutMs: number;
  /** Between SIGTERM and SIGKILL when an agent is stopped. */
  graceMs: number;
  /** Extra attempts after an agent fails, crashes or is stopped for a timeout. */
  retries: number;
  /** Absolute, or relative to the repository root; null = `.parallel-executor/worktrees`. */
  worktreeRoot: string | null;
  /**
   * Worktrees clean-up keeps ready for the next run instead of removing them (`workspace/pool.ts`);
   * a new task takes one before making a worktree. 0: none.
   */
  pool: number;
  /** Copied into each worktree besides `.env*` and `.claude/`. */
  replicate: string[];
  setupCommand: string | null;
  minFreeDiskMb: number;
  requiredEnv: string[];
  portBase: number;
  portsPerAgent: number;
  identity: GitIdentity;
  /** Warn about an inter-agent message nobody acknowledged for this long. */
  messageAckTimeoutMs: number;
  /** How often inboxes are scanned. */
  messagePollMs: number;
  /**
   * Whether agents can message each other: true where they run side by side (the CLI); false
   * where each task runs alone (an Action job), and the agent's context says so.
   */
  messaging: boolean;
  /** A budget for the run (or resume), counted from its start; null: none. */
  budget: BudgetLimits | null;
}

/** See `budget.ts`. Every limit is optional; at least one is set. */
export interface BudgetLimits {
  usd: number | null;
  tokens: number | null;
  durationMs: number | null;
  /** Percent past a limit before running agents are stopped; null: they finish. */
  marginPercent: number | null;
}

export const DEFAULT_SETTINGS: ExecutionSettings = {
  concurrency: null,
  taskTimeoutMs: 60 * 60_000,
  idleTimeoutMs: 10 * 60_000,
  graceMs: 10_000,
  retries: 0,
  worktreeRoot: null,
  pool: 0,
  replicate: [],
  setupCommand: null,
  minFreeDiskMb: 500,
  requiredEnv: [],
  portBase: 41000,
  portsPerAgent: 10,
  identity: DEFAULT_IDENTITY,
  messageAckTimeoutMs: 5 * 60_000,
  messagePollMs: 500,
  messaging: true,
  budget: null,
};

export function resolveSettings(partial: Partial<ExecutionSettings> = {}): ExecutionSettings {
  const defined = Object.fromEntries(
    Object.entries(partial).filter(([, value]) => value !== undefined),
  ) as Partial<ExecutionSettings>;
  return { ...DEFAULT_SETTINGS, ...defined };
}
