import { plainText } from '../terminal-text.js';

export const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type AuditCounts = Record<Severity, number>;

export type AuditReading =
  | { kind: 'counts'; counts: AuditCounts }
  /** The audit printed an error (`{"error": …}`, Yarn's `{"type": "error"}`): usually no registry access. */
  | { kind: 'error'; message: string }
  | { kind: 'unreadable' };

/**
 * Counts by severity from an audit's JSON: `npm audit --json` and `pnpm audit --json`
 * (`metadata.vulnerabilities`, the same place in npm 6, npm 7+ and pnpm), or `yarn audit --json`
 * of Yarn classic (JSON lines, the counts in the `auditSummary` line). A custom security command
 * may print something else: that is `unreadable`, and the check then falls back on its exit code.
 */
export function parseAudit(text: string): AuditReading {
  const whole = parseJson(text);
  if (whole !== undefined) return readReport(whole);
  // Yarn classic: one JSON object per line; the summary and any error are lines of their own.
  for (const line of text.split('\n')) {
    const reading = readReport(parseJson(line));
    if (reading.kind !== 'unreadable') return reading;
  }
  return { kind: 'unreadable' };
}

function readReport(parsed: unknown): AuditReading {
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'unreadable' };
  const report = parsed as {
    error?: { summary?: unknown; detail?: unknown; code?: unknown };
    message?: unknown;
    metadata?: { vulnerabilities?: unknown };
    type?: unknown;
    data?: unknown;
  };
  if (typeof report.error === 'object' && report.error !== null) {
    // npm 11 leaves summary and detail empty when the registry refuses the audit and says why in
    // the top-level message (`405 Method Not Allowed - POST https://…/advisories/bulk`).
    const said = [report.error.summary, report.error.detail, report.message].find(
      (text): text is string => typeof text === 'string' && text.trim() !== '',
    );
    const code = typeof report.error.code === 'string' ? `${report.error.code}: ` : '';
    const first =
      said === undefined
        ? 'unknown error (no message in its JSON)'
        : plainText(said.trim().split('\n')[0] ?? '');
    return { kind: 'error', message: `${code}${first}` };
  }
  if (report.type === 'error') {
    const message = typeof report.data === 'string' ? report.data : 'unknown error';
    return { kind: 'error', message: message.split('\n')[0] ?? message };
  }
  if (report.type === 'auditSummary') {
    const data = report.data as { vulnerabilities?: unknown } | null | undefined;
    return countsOf(data?.vulnerabilities);
  }
  return countsOf(report.metadata?.vulnerabilities);
}

function countsOf(found: unknown): AuditReading {
  if (typeof found !== 'object' || found === null) return { kind: 'unreadable' };
  const bySeverity = found as Record<string, unknown>;
  const counts = Object.fromEntries(
    SEVERITIES.map((severity) => {
      const value = bySeverity[severity];
      return [severity, typeof value === 'number' && Number.isInteger(value) ? value : 0];
    }),
  ) as AuditCounts;
  return { kind: 'counts', counts };
}

/** undefined when the text is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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
