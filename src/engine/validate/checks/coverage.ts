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
    // A command that failed says why in its output; one that passed failed on the minimum.
    if (run.exitCode !== 0) return { passed: false, note: threshold.note };
    return threshold;
  },
  // With no coverage command, a report the test command wrote is still held against the minimum,
  // because many test scripts produce coverage themselves.
  withoutCommand({ disabled, minCoverage, findings }) {
    if (disabled || findings.coverage === null) return null;
    const verdict = coverageVerdict(findings.coverage, minCoverage);
    return { ...verdict, note: `${verdict.note ?? ''}, written by the tests` };
  },
  seedFields: (findings) => ({ percent: findings.coverage?.percent ?? null }),
};

function coverageVerdict(coverage: CoverageReading | null, minimum: number | undefined): Verdict {
  if (coverage === null) {
    const note = 'no coverage report found (coverage/coverage-summary.json, coverage/lcov.info)';
    if (minimum === undefined) return { passed: true, note };
    return { passed: false, note, failure: `${note} to hold against the minimum ${minimum}%` };
  }
  const found = `${coverage.percent}% of lines (${coverage.source})`;
  if (minimum === undefined) return { passed: true, note: found };
  if (coverage.percent >= minimum) return { passed: true, note: `${found}, minimum ${minimum}%` };
  return {
    passed: false,
    note: `${found}, minimum ${minimum}%`,
    failure: `${coverage.percent}% of lines covered, below the minimum ${minimum}% (${coverage.source})`,
  };
}
