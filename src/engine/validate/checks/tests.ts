import type { Check } from '../check.js';
import { readCoverage } from '../coverage.js';
import { parseTestCounts } from '../test-counts.js';

export const testsCheck: Check = {
  outputFile: 'test_output.txt',
  scripts: ['test'],
  makeTarget: 'test',
  async judge({ run, output, worktree, started, findings }) {
    findings.tests = parseTestCounts(output) ?? findings.tests;
    // A test command may write coverage too (vitest --coverage); the coverage check may overwrite it.
    findings.coverage = await readCoverage(worktree, started);
    const counts = findings.tests;
    const note = counts === null ? null : `${counts.passed}/${counts.total} tests passed`;
    return { passed: run.exitCode === 0, note };
  },
  seedFields: (findings) => ({ coverage: findings.coverage?.percent ?? null }),
};
