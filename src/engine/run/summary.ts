import type { InteractionRisk, RepairRecord } from '../integrate/schema.js';
import type { ExecutionState, TaskRun, TaskRunStatus } from '../state/schema.js';
import type { ValidationStatus } from '../validate/schema.js';
import {
  executionOutcome,
  taskDurationMs,
  taskOutcome,
  taskWarnings,
  type ExecutionOutcome,
  type TaskOutcome,
} from '../report/outcome.js';
import { taskUsage, totalUsage, usageTokens, type Usage } from '../report/usage.js';

export interface ValidationSummary {
  status: ValidationStatus;
  /** Skipped checks are listed too (`skipped: true`, exit code null), so the reader sees what was not checked. */
  checks: Array<{ name: string; exitCode: number | null; passed: boolean; skipped: boolean }>;
}

export interface IntegrationSummary {
  branch: string;
  strategy: 'batch-bisect' | 'serial';
  merged: string[];
  conflicts: Array<{ taskId: string; files: string[]; with: string[] }>;
  dropped: Array<{ taskId: string; reason: string }>;
  testRuns: number;
  testsPassed: boolean | null;
  headSha: string;
  /** Tasks handed back to an agent after being left out, and how that ended. */
  repairs: RepairRecord[];
  /** Pairs that merge cleanly but may break each other, with what `integration.onRisk` did. */
  risks: InteractionRisk[];
}

/** The `--json` document of `run` and `resume`. */
export interface ExecutionSummary {
  executionId: string;
  status: ExecutionState['status'];
  /** The report's verdict: SUCCESS, PARTIAL, FAILED (or IN PROGRESS). */
  outcome: ExecutionOutcome;
  /** Tokens and cost summed over the tasks; null when no agent reported any. */
  usage: Usage | null;
  /**
   * The run's budget (null: none): its limits, what was spent since the run (or resume) started,
   * the limit reached, the tasks whose agents it stopped and those it did not start (resumable).
   */
  budget: BudgetSummary | null;
  /** Null when no integration ran (nothing validated to merge, or the run stopped before). */
  integration: IntegrationSummary | null;
  /** The report under the execution folder, once written. */
  report: string | null;
  /** Where the report was committed (with the plan's statuses), when it was. */
  reportCommit: { branch: string; path: string; sha: string; planFile: string | null } | null;
  tasks: Array<{
    id: string;
    agent: string;
    branch: string;
    worktree: string;
    /** Where the task's run stopped (`completed` means the agent finished, not that it landed). */
    status: TaskRunStatus;
    /** How the task ended, integration included: the report's word (`DROPPED` when left out). */
    outcome: TaskOutcome;
    attempts: number;
    durationMs: number | null;
    exitCode: number | null;
    reason: string | null;
    validation: ValidationSummary | null;
    /** Refs holding earlier states of the task's work (failed attempts, what resume found). */
    keptRefs: Array<{ ref: string; sha: string; why: string }>;
    /** What the agent reported; null when it reported none. */
    usage: Usage | null;
    /** What did not fail the task but should be looked at (no changes, refused tool calls…). */
    warnings: string[];
    /** What the agent said on the way: API retries, refused tool calls. */
    diagnostics: string[];
    /**
     * `usage` as the budget counts it: tokens of every kind summed, and the cost; null when the
     * agent reported nothing. Kept for `--json` readers of the budget.
     */
    spent: { tokens: number; costUsd: number | null } | null;
  }>;
}

export interface BudgetSummary {
  limits: {
    usd: number | null;
    tokens: number | null;
    durationMs: number | null;
    marginPercent: number | null;
  };
  spent: { usd: number; tokens: number; durationMs: number };
  reached: string | null;
  stopped: string[];
  notStarted: string[];
}

function budgetSummary(state: ExecutionState): BudgetSummary | null {
  const budget = state.budget ?? null;
  if (budget === null) return null;
  return {
    limits: {
      usd: budget.limits.usd,
      tokens: budget.limits.tokens,
      durationMs: budget.limits.duration_ms,
      marginPercent: budget.limits.margin_percent,
    },
    spent: {
      usd: budget.spent.usd,
      tokens: budget.spent.tokens,
      durationMs: budget.spent.duration_ms,
    },
    reached: budget.reached,
    stopped: budget.stopped,
    notStarted: budget.not_started,
  };
}

export function executionSummary(state: ExecutionState): ExecutionSummary {
  const integration = state.integration;
  const commit = state.report_commit ?? null;
  return {
    executionId: state.execution_id,
    status: state.status,
    outcome: executionOutcome(state),
    usage: totalUsage(state.task_order.flatMap((id) => state.tasks[id] ?? [])),
    budget: budgetSummary(state),
    integration:
      integration === null
        ? null
        : {
            branch: integration.branch,
            strategy: integration.strategy,
            merged: integration.merged,
            conflicts: integration.conflicts,
            dropped: integration.dropped,
            testRuns: integration.testRuns,
            testsPassed: integration.testsPassed,
            headSha: integration.headSha,
            repairs: integration.repairs ?? [],
            risks: integration.risks ?? [],
          },
    report: state.report_path,
    reportCommit:
      commit === null
        ? null
        : { branch: commit.branch, path: commit.path, sha: commit.sha, planFile: commit.plan_file },
    tasks: state.task_order.map((id) => {
      const run = state.tasks[id]!;
      const usage = taskUsage(run);
      return {
        id,
        agent: run.agent,
        branch: run.branch,
        worktree: run.worktree,
        status: run.status,
        outcome: taskOutcome(run, integration),
        attempts: run.attempts,
        durationMs: taskDurationMs(run),
        exitCode: run.exit_code,
        reason: run.reason,
        validation: validationSummary(run),
        keptRefs: run.kept_refs ?? [],
        usage,
        warnings: taskWarnings(run),
        diagnostics: run.diagnostics ?? [],
        spent: usage === null ? null : { tokens: usageTokens(usage), costUsd: usage.costUsd },
      };
    }),
  };
}

function validationSummary(run: TaskRun): ValidationSummary | null {
  if (run.validation === null) return null;
  return {
    status: run.validation.status,
    checks: run.validation.checks.map((check) => ({
      name: check.name,
      exitCode: check.exitCode,
      passed: check.passed,
      skipped: check.skipped,
    })),
  };
}
