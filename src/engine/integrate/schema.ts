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
  dropped: z.array(z.object({ taskId: z.string(), reason: z.string() })),
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
});
export type IntegrationResult = z.infer<typeof IntegrationResult>;
