import type { Check, Verdict } from '../check.js';
import { readCoverage, type CoverageReading } from '../coverage.js';
import { parseTestCounts } from '../test-counts.js';

export const coverageCheck: Check = {
  outputFile: 'coverage_output.txt',
  scripts: ['test:coverage', 'coverage'],
  // No common Makefile target name.
  makeTarget: null,
  async judge({ run, output, worktree, started, minCoverage, findings }) {
    findings.tests = parseTestCounts(output) ?? findings.tests;
    findings.coverage = (await readCoverage(worktree, started)) ?? findings.coverage;
    const threshold = coverageVerdict(findings.coverage, minCoverage);
    return { passed: run.exitCode === 0 && threshold.passed, note: threshold.note };
  },
  // With no coverage command, a report the test command wrote is still held against the minimum,
  // because many test scripts produce coverage themselves.
  withoutCommand({ disabled, minCoverage, findings }) {
    if (disabled || findings.coverage === null) return null;
    const verdict = coverageVerdict(findings.coverage, minCoverage);
    return { passed: verdict.passed, note: `${verdict.note ?? ''}, written by the tests` };
  },
  seedFields: (findings) => ({ percent: findings.coverage?.percent ?? null }),
};

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
