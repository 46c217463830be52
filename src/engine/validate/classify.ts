import type { CheckResult, ValidationStatus } from './schema.js';

/**
 * The seed's decision point: every check that ran passed → COMPLETE_VALIDATED; only non-critical
 * ones failed → COMPLETE_WITH_WARNINGS; a critical one failed → FAILED. Skipped checks count for
 * neither: they are listed with their reason instead.
 */
export function classify(
  checks: readonly Pick<CheckResult, 'passed' | 'skipped' | 'critical'>[],
): ValidationStatus {
  const failed = checks.filter((check) => !check.skipped && !check.passed);
  if (failed.some((check) => check.critical)) return 'FAILED';
  if (failed.length > 0) return 'COMPLETE_WITH_WARNINGS';
  return 'COMPLETE_VALIDATED';
}
