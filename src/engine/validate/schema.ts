import { z } from 'zod';

export const CheckName = z.enum(['lint', 'tests', 'coverage', 'security', 'build']);
export type CheckName = z.infer<typeof CheckName>;

/** A check's command in the config: shell text, or `false` to turn the check off. */
const CheckCommand = z
  .union([z.string().min(1), z.literal(false)], {
    error: 'expected a shell command (text), or false to turn the check off',
  })
  .optional();

/** `validation:` in `.github/parallel-executor.yml`: one key per check, and how they count. */
export const ValidationConfig = z
  .object({
    ...(Object.fromEntries(CheckName.options.map((name) => [name, CheckCommand])) as Record<
      CheckName,
      typeof CheckCommand
    >),
    /** Failing one of these fails the task; the others only warn. */
    critical: z.array(CheckName).default(['tests', 'build']),
    /** Minimum line coverage in percent; below it the coverage check fails. */
    minCoverage: z.number().min(0).max(100).optional(),
  })
  .strict()
  .default({ critical: ['tests', 'build'] });
export type ValidationConfig = z.infer<typeof ValidationConfig>;

export const CheckResult = z.object({
  name: CheckName,
  /** The command that ran, or null when the check was skipped. */
  command: z.string().nullable(),
  /** Null when skipped (nothing detected, nothing configured). */
  exitCode: z.number().int().nullable(),
  passed: z.boolean(),
  skipped: z.boolean(),
  /** Why it was skipped or where the command came from (`package.json script "lint"`, config). */
  note: z.string().nullable(),
  /**
   * Why it failed when neither its exit code nor its output says it: what was read from what it
   * wrote (coverage below the minimum, no coverage report with a minimum set, vulnerabilities, an
   * audit that could not run). Absent when it passed, and in reports written before it existed.
   */
  failure: z.string().nullable().optional(),
  critical: z.boolean(),
  durationMs: z.number().nonnegative(),
  /** Absolute path of the file holding the command's output. */
  outputFile: z.string().nullable(),
});
export type CheckResult = z.infer<typeof CheckResult>;

export const ValidationStatus = z.enum(['COMPLETE_VALIDATED', 'COMPLETE_WITH_WARNINGS', 'FAILED']);
export type ValidationStatus = z.infer<typeof ValidationStatus>;

/** validation_report.json: the seed's shape (`validations` keyed by check) plus the ordered checks. */
export const ValidationReport = z.object({
  agent: z.string(),
  task_id: z.string(),
  status: ValidationStatus,
  overall_passed: z.boolean(),
  checks: z.array(CheckResult),
  /** Line coverage in percent, from coverage-summary.json or lcov; null when no report was found. */
  coverage: z.number().min(0).max(100).nullable(),
  tests: z.object({ passed: z.number().int(), total: z.number().int() }).nullable(),
  audit: z
    .object({
      critical: z.number().int(),
      high: z.number().int(),
      moderate: z.number().int(),
      low: z.number().int(),
      info: z.number().int(),
    })
    .nullable(),
  validations: z.record(
    z.string(),
    z.object({ passed: z.boolean(), exit_code: z.number().int().nullable() }).passthrough(),
  ),
});
export type ValidationReport = z.infer<typeof ValidationReport>;
