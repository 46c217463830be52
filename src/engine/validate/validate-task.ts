import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDuration } from '../format.js';
import { runCommand, type RunCommandResult } from '../exec/run-command.js';
import type { Severity } from './audit.js';
import type { Findings, Verdict } from './check.js';
import { CHECKS } from './checks.js';
import { classify } from './classify.js';
import { detectChecks, type DetectedCheck, type ValidationConfig } from './detect.js';
import { CheckName, CheckResult, ValidationReport } from './schema.js';

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
export const OUTPUT_FILES = Object.fromEntries(
  CheckName.options.map((name) => [name, CHECKS[name].outputFile]),
) as Record<CheckName, string>;

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

async function runCheck(
  check: DetectedCheck,
  options: ValidateTaskOptions,
  started: Date,
  findings: Findings,
): Promise<CheckResult> {
  if (check.command === null) return withoutCommand(check, options.config, findings);
  const kind = CHECKS[check.name];
  const outputFile = join(options.outputDir, kind.outputFile);
  const run = await runCommand({
    command: check.command,
    cwd: options.worktree,
    env: options.env,
    outputFile,
    stderrFile:
      kind.stderrFile === undefined ? undefined : join(options.outputDir, kind.stderrFile),
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
  const verdict = await kind.judge({
    run,
    output,
    worktree: options.worktree,
    started,
    minCoverage: options.config.minCoverage,
    auditFailOn: options.auditFailOn ?? 'high',
    findings,
  });
  return {
    ...base,
    passed: verdict.passed,
    note: joinNotes(check.note, verdict.note),
    ...failureOf(verdict),
  };
}

/**
 * A check with no command: skipped, unless it can still judge without one (coverage reads the
 * report the tests wrote).
 */
function withoutCommand(
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
  const verdict = CHECKS[check.name].withoutCommand?.({
    disabled: config[check.name] === false,
    minCoverage: config.minCoverage,
    findings,
  });
  if (verdict) {
    return {
      ...base,
      skipped: false,
      passed: verdict.passed,
      note: verdict.note,
      ...failureOf(verdict),
    };
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

/** The verdict's own reason for a failure, kept beside the note (the reason and report use it). */
function failureOf(verdict: Verdict): { failure?: string } {
  return !verdict.passed && verdict.failure !== undefined ? { failure: verdict.failure } : {};
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
      return [result.name, { ...entry, ...CHECKS[result.name].seedFields?.(findings) }];
    }),
  );
}
