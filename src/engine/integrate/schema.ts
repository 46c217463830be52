import { z } from 'zod';

/**
 * Two tasks that merge cleanly but change the same definition, or one changes what the other's
 * changed code uses (the rule: src/engine/integrate/risk/detect.ts).
 */
export const InteractionRisk = z.object({
  tasks: z.tuple([z.string(), z.string()]),
  files: z.array(z.string()),
  symbols: z.array(z.string()),
  reason: z.string(),
  /** `integration.onRisk: test-both`: both tasks' own new tests, run together on the branch. */
  test: z
    .object({
      files: z.array(z.string()),
      /** `failed`: a confirmed interaction. */
      outcome: z.enum(['passed', 'failed', 'no-tests']),
      outputFile: z.string().nullable(),
    })
    .optional(),
  /** What `integration.onRisk` could not do for this pair, and why. */
  note: z.string().optional(),
});
export type InteractionRisk = z.infer<typeof InteractionRisk>;

/**
 * Why a task was handed back to an agent: it conflicted, batch-and-bisect blamed it for failing
 * integration tests, its own validation failed, or (`integration.onRisk: repair`) it is the
 * later-merged task of an interaction risk: the agent writes a test of the combination and a fix.
 */
export const RepairKind = z.enum(['conflict', 'tests', 'validation', 'interaction']);
export type RepairKind = z.infer<typeof RepairKind>;

/**
 * One repair attempt's branch and worktree, as the repair loop made them: the names `clean`
 * removes (and no others), and what a resume finds of an attempt a stopped orchestrator left.
 */
export const RepairWorkspaceRecord = z.object({
  /** The attempt's number for its task (its kept ref is `<task>-repair/attempt-<n>`). */
  attempt: z.number().int().positive(),
  branch: z.string(),
  worktree: z.string(),
  /** The integration head it started from. */
  baseSha: z.string(),
  /** The branch's tip when the attempt ended; null while it runs. */
  headSha: z.string().nullable(),
});
export type RepairWorkspaceRecord = z.infer<typeof RepairWorkspaceRecord>;

/** A repair attempt under way: what a resume finds when the orchestrator stopped during it. */
export const RepairInFlight = RepairWorkspaceRecord.extend({
  taskId: z.string(),
  kind: RepairKind,
});
export type RepairInFlight = z.infer<typeof RepairInFlight>;

/** One task's repair: every attempt, the last attempt's branch, and what it cost. */
export const RepairRecord = z.object({
  taskId: z.string(),
  kind: RepairKind,
  attempts: z.number().int().nonnegative(),
  outcome: z.enum(['merged', 'failed']),
  /** The other task(s) involved: those it collided with (conflict) or interacts with (interaction). */
  with: z.array(z.string()),
  /** The conflicting files (conflict), the risk's files (interaction). */
  files: z.array(z.string()),
  /** The branch of the last attempt (the integration head with the task merged, then repaired). */
  branch: z.string(),
  /** Why the last attempt failed; null when merged. */
  reason: z.string().nullable(),
  /** Every attempt's state, kept under `refs/parallel-executor/<execution>/<task>-repair/attempt-<n>`. */
  keptRefs: z.array(z.string()),
  /** Every attempt's branch and worktree (absent from older records: `branch` alone). */
  workspaces: z.array(RepairWorkspaceRecord).optional(),
  /**
   * Of `attempts`, those cut short because the orchestrator stopped (a resume found them): they
   * gave no verdict, so they do not count against `integration.repair.attempts`.
   */
  interrupted: z.number().int().nonnegative().optional(),
  durationMs: z.number().nonnegative(),
  inputTokens: z.number().int().nullable(),
  outputTokens: z.number().int().nullable(),
  costUsd: z.number().nullable(),
});
export type RepairRecord = z.infer<typeof RepairRecord>;

export const IntegrationResult = z.object({
  strategy: z.enum(['batch-bisect', 'serial']),
  branch: z.string(),
  baseSha: z.string(),
  /** The integration branch's head after all merges, or the base when nothing merged. */
  headSha: z.string(),
  merged: z.array(z.string()),
  conflicts: z.array(
    z.object({
      taskId: z.string(),
      files: z.array(z.string()),
      /** Task id(s) of the branch(es) it collided with, when known. */
      with: z.array(z.string()),
    }),
  ),
  /**
   * Every candidate that was not merged, with the reason: a conflict (also detailed in
   * `conflicts`), failing integration tests, a dropped dependency, a missing branch.
   * `merged` and `dropped` together hold every candidate.
   */
  dropped: z.array(
    z.object({
      taskId: z.string(),
      reason: z.string(),
      /** When the integration tests blamed it: the failing run's output file. */
      testOutput: z.string().optional(),
    }),
  ),
  /** Pairs of task branches that `git merge-tree` says collide, found before merging. */
  predictedConflicts: z.array(
    z.object({ a: z.string(), b: z.string(), files: z.array(z.string()) }),
  ),
  testRuns: z.number().int().nonnegative(),
  /** Null when no test command was configured or detected. */
  testsPassed: z.boolean().nullable(),
  testCommand: z.string().nullable(),
  /** Pairs of tasks that merge cleanly but may break each other; absent from older results. */
  risks: z.array(InteractionRisk).optional(),
  /** What a reader should know that the fields above do not say (e.g. tests fail on the base). */
  notes: z.array(z.string()).optional(),
  /** Tasks handed back to an agent after a conflict, failing tests or failed validation. */
  repairs: z.array(RepairRecord).optional(),
  /**
   * Set while the repair loop runs, with the attempts under way; absent once it ended. A resume
   * that finds it knows the orchestrator stopped during the repairs: it keeps what those attempts
   * left and repairs again.
   */
  repairing: z.object({ attempts: z.array(RepairInFlight) }).optional(),
});
export type IntegrationResult = z.infer<typeof IntegrationResult>;

/**
 * Where a running integration is, for the dashboard and `status --watch` (kept in the state while
 * it runs): merging, testing (`testRun` of at most `testRunsAtMost`), bisecting a failure.
 */
export const IntegrationProgress = z.object({
  phase: z.enum(['setup', 'merging', 'testing', 'bisecting', 'done']),
  /** Candidates being integrated. */
  total: z.number().int().nonnegative(),
  /** Merged on the branch right now (bisection takes merges off and puts them back). */
  merged: z.number().int().nonnegative(),
  conflicts: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  /** Test runs started so far (a tree tested before is not run again). */
  testRun: z.number().int().nonnegative(),
  /** The most test runs this can take from here, when the strategy can tell. */
  testRunsAtMost: z.number().int().nonnegative().nullable(),
  /** The task being merged, or the last task in the tested tree. */
  taskId: z.string().nullable(),
  /**
   * The integration branch (set by the finish step): the tool's own even when the integration
   * stops half way and the state records no integration.
   */
  branch: z.string().optional(),
});
export type IntegrationProgress = z.infer<typeof IntegrationProgress>;
