import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../report/format.js';
import { runCommand, type RunCommandResult } from '../exec/run-command.js';
import { auditFails, parseAudit, type AuditCounts, type Severity } from './audit.js';
import { classify } from './classify.js';
import { readCoverage, type CoverageReading } from './coverage.js';
import { detectChecks, type DetectedCheck, type ValidationConfig } from './detect.js';
import { CheckResult, ValidationReport, type CheckName } from './schema.js';
import { parseTestCounts, type TestCounts } from './test-counts.js';

export interface ValidateTaskOptions {
  worktree: string;
  taskId: string;
  agent: string;
  /** Check outputs and validation_report.json go here (created when missing). */
  outputDir: string;
  config: ValidationConfig;
  /** The checks' whole environment. */
  env: Record<string, string>;
  signal?: AbortSignal;
  /** Per check; none by default. A check that runs out of time fails. */
  checkTimeoutMs?: number;
  /** Lowest audit severity that fails the security check; default `high` (see audit.ts). */
  auditFailOn?: Severity;
}

/** The seed's file names, plus one for the coverage command's own output. */
export const OUTPUT_FILES: Record<CheckName, string> = {
  lint: 'lint_results.txt',
  tests: 'test_output.txt',
  coverage: 'coverage_output.txt',
  security: 'security_audit.json',
  build: 'build_output.txt',
};

export const REPORT_FILE = 'validation_report.json';

/**
 * Run a finished task's checks in its worktree, one after the other (tasks run side by side; the
 * checks of one task would fight over its files), write every output and `validation_report.json`
 * to `outputDir`, and classify the task. An abort stops the running check and rejects with the
 * signal's reason; no report is written then.
 */
export async function validateTask(options: ValidateTaskOptions): Promise<ValidationReport> {
  await mkdir(options.outputDir, { recursive: true });
  const started = new Date();
  const detected = await detectChecks(options.worktree, options.config);
  const results: CheckResult[] = [];
  const findings: Findings = { coverage: null, tests: null, audit: null };
  for (const check of detected) {
    options.signal?.throwIfAborted();
    results.push(await runCheck(check, options, started, findings));
  }
  options.signal?.throwIfAborted();
  const report = ValidationReport.parse({
    agent: options.agent,
    task_id: options.taskId,
    status: classify(results),
    overall_passed: results.every((result) => result.skipped || result.passed),
    checks: results,
    coverage: findings.coverage?.percent ?? null,
    tests: findings.tests,
    audit: findings.audit,
    validations: seedValidations(results, findings),
  });
  await writeFile(join(options.outputDir, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** What the checks found beyond pass/fail, filled in as they run. */
interface Findings {
  coverage: CoverageReading | null;
  tests: TestCounts | null;
  audit: AuditCounts | null;
}

async function runCheck(
  check: DetectedCheck,
  options: ValidateTaskOptions,
  started: Date,
  findings: Findings,
): Promise<CheckResult> {
  if (check.command === null) return skippedOrCoverageOnly(check, options.config, findings);
  const outputFile = join(options.outputDir, OUTPUT_FILES[check.name]);
  const run = await runCommand({
    command: check.command,
    cwd: options.worktree,
    env: options.env,
    outputFile,
    // Audit JSON must stay parseable; npm prints its warnings on stderr.
    stderrFile:
      check.name === 'security' ? join(options.outputDir, 'security_audit_stderr.txt') : undefined,
    signal: options.signal,
    timeoutMs: options.checkTimeoutMs,
  });
  const base = {
    name: check.name,
    command: check.command,
    exitCode: run.exitCode,
    skipped: false,
    critical: check.critical,
    durationMs: Math.round(run.durationMs),
    outputFile,
  };
  const stopped = stoppedNote(run, options.checkTimeoutMs);
  if (stopped !== null) return { ...base, passed: false, note: `${check.note}; ${stopped}` };
  const output = await readFile(outputFile, 'utf8');
  const verdict = await judge(check.name, run, output, options, started, findings);
  return { ...base, passed: verdict.passed, note: joinNotes(check.note, verdict.note) };
}

interface Verdict {
  passed: boolean;
  note: string | null;
}

/** Pass or fail, and what the output said, for one check that ran to its end. */
async function judge(
  name: CheckName,
  run: RunCommandResult,
  output: string,
  options: ValidateTaskOptions,
  started: Date,
  findings: Findings,
): Promise<Verdict> {
  const exitedZero = run.exitCode === 0;
  if (name === 'tests' || name === 'coverage') {
    findings.tests = parseTestCounts(output) ?? findings.tests;
  }
  if (name === 'tests') {
    // A test command may write coverage too (vitest --coverage); the coverage check may overwrite it.
    findings.coverage = await readCoverage(options.worktree, started);
    return { passed: exitedZero, note: testsNote(findings.tests) };
  }
  if (name === 'coverage') {
    findings.coverage = (await readCoverage(options.worktree, started)) ?? findings.coverage;
    const threshold = coverageVerdict(findings.coverage, options.config.minCoverage);
    return { passed: exitedZero && threshold.passed, note: threshold.note };
  }
  if (name === 'security') return securityVerdict(run, output, options.auditFailOn, findings);
  return { passed: exitedZero, note: null };
}

function securityVerdict(
  run: RunCommandResult,
  output: string,
  failOn: Severity = 'high',
  findings: Findings,
): Verdict {
  const reading = parseAudit(output);
  if (reading.kind === 'error') {
    return { passed: false, note: `the audit could not run: ${reading.message}` };
  }
  if (reading.kind === 'unreadable') {
    // A security command of the user's own that prints no audit JSON we read: its exit code decides.
    const note = 'output is not npm, pnpm or Yarn classic audit JSON; exit code decides';
    return { passed: run.exitCode === 0, note };
  }
  findings.audit = reading.counts;
  const { critical, high, moderate, low } = reading.counts;
  const summary = `${critical} critical, ${high} high, ${moderate} moderate, ${low} low`;
  const fails = auditFails(reading.counts, failOn);
  return { passed: !fails, note: `${summary} (fails on ${failOn} and above)` };
}

function coverageVerdict(coverage: CoverageReading | null, minimum: number | undefined): Verdict {
  if (coverage === null) {
    const note = 'no coverage report found (coverage/coverage-summary.json, coverage/lcov.info)';
    return { passed: minimum === undefined, note };
  }
  const found = `${coverage.percent}% of lines (${coverage.source})`;
  if (minimum === undefined) return { passed: true, note: found };
  const passed = coverage.percent >= minimum;
  return { passed, note: `${found}, minimum ${minimum}%` };
}

/**
 * A skipped check, except coverage: with no coverage command, a report the test command wrote is
 * still read and held against the minimum, because many test scripts produce coverage themselves.
 */
function skippedOrCoverageOnly(
  check: DetectedCheck,
  config: ValidationConfig,
  findings: Findings,
): CheckResult {
  const base = {
    name: check.name,
    command: null,
    exitCode: null,
    critical: check.critical,
    durationMs: 0,
    outputFile: null,
  };
  const disabled = config.coverage === false;
  if (check.name === 'coverage' && !disabled && findings.coverage !== null) {
    const verdict = coverageVerdict(findings.coverage, config.minCoverage);
    const note = `${verdict.note ?? ''}, written by the tests`;
    return { ...base, skipped: false, passed: verdict.passed, note };
  }
  // Skipped checks did not pass: they did not run. Classification ignores them.
  return { ...base, skipped: true, passed: false, note: check.note };
}

function stoppedNote(run: RunCommandResult, timeoutMs: number | undefined): string | null {
  if (run.timedOut) return `timed out after ${formatDuration(timeoutMs ?? 0)}`;
  if (run.aborted) return 'stopped: the run was cancelled';
  if (run.exitCode === null) return `killed by ${run.signal ?? 'a signal'}`;
  return null;
}

function testsNote(counts: TestCounts | null): string | null {
  return counts === null ? null : `${counts.passed}/${counts.total} tests passed`;
}

function joinNotes(first: string, second: string | null): string {
  return second === null ? first : `${first}; ${second}`;
}

/** The seed's `validations` object, keyed by check, with its extra fields. */
function seedValidations(
  results: readonly CheckResult[],
  findings: Findings,
): ValidationReport['validations'] {
  return Object.fromEntries(
    results.map((result) => {
      const entry: { passed: boolean; exit_code: number | null; [extra: string]: unknown } = {
        passed: result.passed,
        exit_code: result.exitCode,
        skipped: result.skipped,
      };
      if (result.name === 'tests') entry['coverage'] = findings.coverage?.percent ?? null;
      if (result.name === 'coverage') entry['percent'] = findings.coverage?.percent ?? null;
      if (result.name === 'security') {
        entry['critical_vulnerabilities'] = findings.audit?.critical ?? null;
      }
      return [result.name, entry];
    }),
  );
}
