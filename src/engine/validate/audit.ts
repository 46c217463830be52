export const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type AuditCounts = Record<Severity, number>;

export type AuditReading =
  | { kind: 'counts'; counts: AuditCounts }
  /** npm audit printed `{"error": …}`: usually no registry access. */
  | { kind: 'error'; message: string }
  | { kind: 'unreadable' };

/**
 * Counts by severity from `npm audit --json` (`metadata.vulnerabilities`, the same place in npm 6
 * and npm 7+). A custom security command may print something else: that is `unreadable`, and the
 * check then falls back on its exit code.
 */
export function parseAudit(text: string): AuditReading {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'unreadable' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'unreadable' };
  const error = (parsed as { error?: { summary?: unknown; code?: unknown } }).error;
  if (error !== undefined) {
    const summary = typeof error.summary === 'string' ? error.summary : 'unknown error';
    const code = typeof error.code === 'string' ? `${error.code}: ` : '';
    return { kind: 'error', message: `${code}${summary.split('\n')[0]}` };
  }
  const found = (parsed as { metadata?: { vulnerabilities?: Record<string, unknown> } }).metadata
    ?.vulnerabilities;
  if (typeof found !== 'object' || found === null) return { kind: 'unreadable' };
  const counts = Object.fromEntries(
    SEVERITIES.map((severity) => {
      const value = found[severity];
      return [severity, typeof value === 'number' && Number.isInteger(value) ? value : 0];
    }),
  ) as AuditCounts;
  return { kind: 'counts', counts };
}

/**
 * Severities at or above `failOn` fail the check. The seed failed on critical only; the default
 * here is `high`, because a known high-severity hole is worth a warning — and the security check
 * is not critical by default, so it warns (COMPLETE_WITH_WARNINGS) rather than failing the task.
 */
export function auditFails(counts: AuditCounts, failOn: Severity): boolean {
  const blocking = SEVERITIES.slice(0, SEVERITIES.indexOf(failOn) + 1);
  return blocking.some((severity) => counts[severity] > 0);
}
