import { z } from 'zod';

/**
 * Why a task was handed back to an agent: it conflicted, batch-and-bisect blamed it for failing
 * integration tests, or its own validation failed. `interaction` is kept for pairs that merge
 * cleanly but change what the other relies on (not produced yet).
 */
export const RepairKind = z.enum(['conflict', 'tests', 'validation', 'interaction']);
export type RepairKind = z.infer<typeof RepairKind>;

/** One task's repair: every attempt, the last attempt's branch, and what it cost. */
export const RepairRecord = z.object({
  taskId: z.string(),
  kind: RepairKind,
  attempts: z.number().int().nonnegative(),
  outcome: z.enum(['merged', 'failed']),
  /** The other task(s) involved: those it collided with (conflict). */
  with: z.array(z.string()),
  /** The conflicting files (conflict). */
  files: z.array(z.string()),
  /** The branch of the last attempt (the integration head with the task merged, then repaired). */
  branch: z.string(),
  /** Why the last attempt failed; null when merged. */
  reason: z.string().nullable(),
  /** Every attempt's state, kept under `refs/parallel-executor/<execution>/<task>-repair/attempt-<n>`. */
  keptRefs: z.array(z.string()),
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
  /** What a reader should know that the fields above do not say (e.g. tests fail on the base). */
  notes: z.array(z.string()).optional(),
  /** Tasks handed back to an agent after a conflict, failing tests or failed validation. */
  repairs: z.array(RepairRecord).optional(),
});
export type IntegrationResult = z.infer<typeof IntegrationResult>;
