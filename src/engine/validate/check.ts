import type { RunCommandResult } from '../exec/run-command.js';
import type { AuditCounts, Severity } from './audit.js';
import type { CoverageReading } from './coverage.js';
import type { JsProject } from './detect-js.js';
import type { TestCounts } from './test-counts.js';

/** What the checks found beyond pass/fail, filled in as they run (a later check may use it). */
export interface Findings {
  coverage: CoverageReading | null;
  tests: TestCounts | null;
  audit: AuditCounts | null;
}

export interface Verdict {
  passed: boolean;
  note: string | null;
  /** When it failed by this reading rather than by its exit code: why, for the task's reason. */
  failure?: string;
}

/** A command for a check, or null with the reason; the note is shown to the user as is. */
export interface Found {
  command: string | null;
  note: string;
}

/** One check that ran to its end, as its judge sees it. */
export interface JudgeInput {
  run: RunCommandResult;
  output: string;
  worktree: string;
  /** When validation began: a coverage report older than that is not this run's. */
  started: Date;
  minCoverage: number | undefined;
  auditFailOn: Severity;
  findings: Findings;
}

/**
 * One validation check (lint, tests, …): where its command comes from and how its run is judged.
 * A new check is one file that exports one of these, one line in `checks.ts` and its name in
 * `CheckName` (schema.ts); the type checker asks for the line once the name is there.
 */
export interface Check {
  /** Where its output is written, in the task's output folder (the seed's file names). */
  outputFile: string;
  /** package.json scripts that run it, the first one present wins. */
  scripts: readonly string[];
  /** The Makefile target that runs it, or null when there is no common one. */
  makeTarget: string | null;
  /** Instead of scripts, Makefile and language defaults: the command the repository implies. */
  fromRepository?: (js: JsProject) => Found;
  /** Its stderr goes to this file, so its stdout stays parseable. */
  stderrFile?: string;
  judge(input: JudgeInput): Promise<Verdict> | Verdict;
  /**
   * A verdict without a command of its own (coverage: the report the tests wrote), or null for
   * skipped. `disabled`: the config turned the check off.
   */
  withoutCommand?(input: {
    disabled: boolean;
    minCoverage: number | undefined;
    findings: Findings;
  }): Verdict | null;
  /** Its extra fields in the report's `validations` (the seed's shape). */
  seedFields?(findings: Findings): Record<string, unknown>;
}

/** The exit code decides, nothing else is read. */
export function exitCodeDecides({ run }: JudgeInput): Verdict {
  return { passed: run.exitCode === 0, note: null };
}
