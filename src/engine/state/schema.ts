import { z } from 'zod';
import { IntegrationProgress, IntegrationResult } from '../integrate/schema.js';
import { ValidationReport } from '../validate/schema.js';

/**
 * PARALLEL_EXECUTION_STATUS.json: the seed's shape (snake_case, per-agent view kept), extended
 * with one record per task, because a task, not an agent, is the unit that runs, retries and merges.
 */

export const TaskRunStatus = z.enum([
  'pending', // waiting for dependencies or a free agent
  'preparing', // worktree, config replication, setup command
  'in_progress', // agent running
  'collecting', // committing leftovers, writing the output bundle
  'validating',
  'completed',
  'failed',
  'skipped', // a dependency failed, or already completed in the plan
  'cancelled',
  'not_started', // held back by the budget (reason says so); resumable, not failed
]);
export type TaskRunStatus = z.infer<typeof TaskRunStatus>;

export const TaskMetrics = z.object({
  lines_added: z.number().int(),
  lines_removed: z.number().int(),
  files_modified: z.number().int(),
  files_changed: z.array(z.string()),
  duration_ms: z.number().nonnegative(),
  input_tokens: z.number().int().nullable(),
  output_tokens: z.number().int().nullable(),
  /** Prompt tokens read from / written to the agent's cache; absent in states written before. */
  cache_read_tokens: z.number().int().nullable().optional(),
  cache_creation_tokens: z.number().int().nullable().optional(),
  cost_usd: z.number().nullable(),
});
export type TaskMetrics = z.infer<typeof TaskMetrics>;

/** Tokens and cost summed over every attempt of a task, failed and stopped ones included. */
export const TaskUsage = z.object({
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cache_read_tokens: z.number().int(),
  cache_creation_tokens: z.number().int(),
  /** Exact, never rounded; null when no attempt reported a cost. */
  cost_usd: z.number().nullable(),
});
export type TaskUsage = z.infer<typeof TaskUsage>;

export const KeptRef = z.object({
  ref: z.string(),
  sha: z.string(),
  /** Why it was kept: `retry`, `resume`, `clean`, `failure`… in words. */
  why: z.string(),
});
export type KeptRef = z.infer<typeof KeptRef>;

export const TaskRun = z.object({
  task_id: z.string(),
  task: z.string(),
  agent: z.string(),
  agents: z.array(z.string()),
  group: z.string().nullable(),
  depends_on: z.array(z.string()),
  estimate_hours: z.number().nullable(),
  status: TaskRunStatus,
  progress_percent: z.number().min(0).max(100),
  current_step: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** Time between its stop (a failure, Ctrl-C, a crash) and the resume that went on with it. */
  stopped_ms: z.number().nonnegative().optional(),
  worktree: z.string(),
  branch: z.string(),
  /** The commit the task's branch started from (base, or base with dependencies merged). */
  start_sha: z.string().nullable(),
  /** The branch head when the agent's work was collected. */
  head_sha: z.string().nullable(),
  pid: z.number().int().nullable(),
  attempts: z.number().int().nonnegative(),
  exit_code: z.number().int().nullable(),
  reason: z.string().nullable(),
  /**
   * Why the attempt before this one ended (a failure, a stop), kept when a retry or `resume` sets
   * `reason` back to null: the retry's agent is told (AGENT_CONTEXT.md, "Earlier Attempts").
   */
  last_reason: z.string().nullable().optional(),
  log_file: z.string(),
  output_dir: z.string(),
  port: z.number().int(),
  metrics: TaskMetrics.nullable(),
  /**
   * What the agent spent over all attempts, failed and stopped ones included, kept up to date
   * while an attempt runs (its running figures on top of the earlier attempts' total): what the
   * report, the live view and the budget count. Absent until an agent reported usage (and in
   * older states, whose `live_usage` and `spent` are read and dropped).
   */
  usage: TaskUsage.nullable().optional(),
  validation: ValidationReport.nullable(),
  /**
   * Refs that hold earlier or abandoned states of this task's work (`refs/parallel-executor/…`):
   * a retried attempt, work found by `resume`, a worktree kept before removal. Never deleted by
   * the tool; the output names them so nothing an agent made is lost.
   */
  kept_refs: z.array(KeptRef).optional(),
  /** Things the user should know that did not fail the task (no changes, a plan edit dropped…). */
  warnings: z.array(z.string()).optional(),
  /**
   * What the agent said that the user must see even when the task succeeds: API retries,
   * permission denials (a tool it was not allowed to use), its last lines when it failed.
   */
  diagnostics: z.array(z.string()).optional(),
});
export type TaskRun = z.infer<typeof TaskRun>;

export const AgentMessage = z.object({
  message_id: z.string(),
  timestamp: z.string(),
  from_agent: z.string(),
  to_agent: z.string(),
  message_type: z.string(),
  payload: z.unknown(),
  acknowledged_at: z.string().nullable(),
  /** When the orchestrator warned that it was still unacknowledged. */
  escalated_at: z.string().nullable().optional(),
  /** Where it was delivered, relative to the execution's `messages/` folder. */
  file: z.string().optional(),
  /**
   * Why it will never be read, once that is known: its recipient is not an agent of the
   * execution, or finished without acknowledging it. The sender's task is warned.
   */
  undelivered: z.string().nullable().optional(),
});
export type AgentMessage = z.infer<typeof AgentMessage>;

export const ExecutionStatus = z.enum([
  'pending',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
]);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

export const ExecutionState = z.object({
  version: z.literal(1),
  execution_id: z.string(),
  plan_file: z.string(),
  plan_title: z.string().nullable(),
  /** Which groups this execution runs: a group id, or `all`. */
  parallel_group: z.string(),
  repo_root: z.string(),
  base_ref: z.string(),
  base_sha: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  status: ExecutionStatus,
  /** Pid of the orchestrator that owns this execution; resume checks it is gone. */
  orchestrator_pid: z.number().int().nullable(),
  /** Time between each stop and the resume after it: not part of the execution's duration. */
  stopped_ms: z.number().nonnegative().optional(),
  tasks: z.record(z.string(), TaskRun),
  /** Task ids in plan order (records do not keep order reliably across tools). */
  task_order: z.array(z.string()),
  completed_tasks: z.array(z.string()),
  failed_tasks: z.array(z.string()),
  messages: z.array(AgentMessage),
  integration: IntegrationResult.nullable(),
  /**
   * Integrations `resume` set aside (tasks run again are integrated into a new one), oldest first:
   * their branches and repairs stay this execution's own, for `clean` to remove. `tip`: the
   * branch's tip then (null: it was gone); `reportSha`: the finish step's report commit on it.
   */
  earlier_integrations: z
    .array(
      IntegrationResult.extend({ tip: z.string().nullable(), reportSha: z.string().nullable() }),
    )
    .optional(),
  /** Where a running integration is (merging, test run k, bisecting); the last one stays. */
  integration_progress: IntegrationProgress.nullable().optional(),
  report_path: z.string().nullable(),
  /** Where the report (and the plan's write-back) was committed; absent before issue 4's finish. */
  report_commit: z
    .object({
      branch: z.string(),
      /** The report's path in the repository (`reports/<execution-id>.md`). */
      path: z.string(),
      sha: z.string(),
      /** The plan file updated in the same commit, or null when the plan was not written back there. */
      plan_file: z.string().nullable(),
    })
    .nullable()
    .optional(),
  /**
   * What changed in the user's own checkout (HEAD, branches, tags, stash, git config, files)
   * between the start and the end of the run, other than what the tool itself does: one sentence
   * each, naming the path, branch or setting. Empty when nothing changed.
   */
  checkout_changes: z.array(z.string()).optional(),
  /** The budget of the run (or resume) that wrote this state, and where it stands; absent: none. */
  budget: z
    .object({
      limits: z.object({
        usd: z.number().nullable(),
        tokens: z.number().nullable(),
        duration_ms: z.number().nullable(),
        /** Percent past a limit before running agents are stopped; null: they finish. */
        margin_percent: z.number().nullable(),
      }),
      /** Spent since this run or resume started (a resume counts afresh). */
      spent: z.object({ usd: z.number(), tokens: z.number(), duration_ms: z.number() }),
      /** The limit reached, in words (`tokens: 1,200 of 1,000`), once no new task may start. */
      reached: z.string().nullable(),
      /** Tasks whose agents the budget stopped, and tasks it did not start. */
      stopped: z.array(z.string()),
      not_started: z.array(z.string()),
    })
    .nullable()
    .optional(),
});
export type ExecutionState = z.infer<typeof ExecutionState>;
