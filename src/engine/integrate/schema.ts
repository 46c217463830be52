import { z } from 'zod';

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
  /** What a reader should know that the fields above do not say (e.g. tests fail on the base). */
  notes: z.array(z.string()).optional(),
});
export type IntegrationResult = z.infer<typeof IntegrationResult>;
