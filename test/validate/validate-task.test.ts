import { access, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationReport } from '../../src/engine/validate/schema.js';
import { validateTask, type ValidateTaskOptions } from '../../src/engine/validate/validate-task.js';
import { validationFailureReason } from '../../src/engine/validate/failure-reason.js';
import { describeResults } from '../../src/engine/finish/validation-step.js';
import { validationSummary } from '../../src/engine/report/task-section.js';
import {
  auditJson,
  childEnv,
  packageJson,
  tempDir,
  validationConfig,
  writeFiles,
} from './helpers.js';

const PASSING_TESTS = `import test from 'node:test';
import assert from 'node:assert';
test('adds', () => assert.equal(1 + 1, 2));
test('concats', () => assert.equal('a' + 'b', 'ab'));
`;

const FAILING_TESTS = `${PASSING_TESTS}test('breaks', () => assert.equal(1, 2));
`;

const WRITE_SUMMARY = `import { mkdirSync, writeFileSync } from 'node:fs';
mkdirSync('coverage', { recursive: true });
writeFileSync('coverage/coverage-summary.json', JSON.stringify({ total: { lines: { total: 40, covered: 33, pct: 82.5 } } }));
`;

/** A small npm project whose scripts really run: node:test tests, a coverage writer, a linter that fails. */
function npmProject(tests: string): Record<string, string> {
  return {
    'package.json': packageJson({
      lint: 'node lint.mjs',
      test: 'node --test test/sum.test.mjs',
      'test:coverage': 'node write-coverage.mjs',
      build: "node -e \"require('fs').mkdirSync('dist', { recursive: true })\"",
    }),
    'package-lock.json': '{}',
    'lint.mjs': "console.error('lint.mjs: 1:1 error no-var'); process.exit(1);\n",
    'test/sum.test.mjs': tests,
    'write-coverage.mjs': WRITE_SUMMARY,
    'audit.json': auditJson({ moderate: 1 }),
  };
}

describe('validateTask', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let worktree: string;
  let outputDir: string;
  beforeEach(async () => {
    work = await tempDir('validate');
    worktree = join(work.path, 'wt');
    outputDir = join(work.path, 'outputs', 'builder-1');
  });
  afterEach(() => work.remove());

  const options = (config: Record<string, unknown>): ValidateTaskOptions => ({
    worktree,
    taskId: '2.1',
    agent: 'builder-1',
    outputDir,
    config: validationConfig(config),
    env: childEnv(),
  });

  it('runs package.json scripts, reads counts, coverage and audit, warns on a lint failure', async () => {
    await writeFiles(worktree, npmProject(PASSING_TESTS));
    // npm audit needs the registry: a canned report stands in for it.
    const report = await validateTask(options({ security: 'cat audit.json' }));

    expect(report.status).toBe('COMPLETE_WITH_WARNINGS');
    expect(report.overall_passed).toBe(false);
    expect(report.checks.map((check) => [check.name, check.passed, check.exitCode])).toEqual([
      ['lint', false, 1],
      ['tests', true, 0],
      ['coverage', true, 0],
      ['security', true, 0],
      ['build', true, 0],
    ]);
    expect(report.tests).toEqual({ passed: 2, total: 2 });
    expect(report.coverage).toBe(82.5);
    expect(report.audit).toEqual({ critical: 0, high: 0, moderate: 1, low: 0, info: 0 });
    expect(report.validations['tests']).toMatchObject({
      passed: true,
      exit_code: 0,
      coverage: 82.5,
    });
    expect(report.validations['security']).toMatchObject({ critical_vulnerabilities: 0 });

    const lint = await readFile(join(outputDir, 'lint_results.txt'), 'utf8');
    expect(lint).toContain('no-var');
    const tests = await readFile(join(outputDir, 'test_output.txt'), 'utf8');
    expect(tests).toContain('# pass 2');
    expect(JSON.parse(await readFile(join(outputDir, 'security_audit.json'), 'utf8'))).toEqual(
      JSON.parse(auditJson({ moderate: 1 })),
    );
    await access(join(outputDir, 'build_output.txt'));
    const written = ValidationReport.parse(
      JSON.parse(await readFile(join(outputDir, 'validation_report.json'), 'utf8')),
    );
    expect(written).toEqual(report);
    for (const check of report.checks) expect(check.durationMs).toBeGreaterThan(0);
  });

  it('fails the task when the tests fail', async () => {
    await writeFiles(worktree, npmProject(FAILING_TESTS));
    const report = await validateTask(options({ security: 'cat audit.json', lint: false }));
    expect(report.status).toBe('FAILED');
    expect(report.tests).toEqual({ passed: 2, total: 3 });
    expect(report.checks.find((check) => check.name === 'tests')).toMatchObject({
      passed: false,
      exitCode: 1,
      critical: true,
      note: 'package.json script "test"; 2/3 tests passed',
    });
    expect(report.checks.find((check) => check.name === 'lint')).toMatchObject({
      skipped: true,
      passed: false,
    });
  });

  it('runs a Makefile project with real make: tests pass, lint fails, the task only warns', async () => {
    await writeFiles(worktree, {
      Makefile: [
        '.PHONY: lint test',
        'lint:',
        '\t@echo "style.sh: trailing whitespace" && exit 2',
        'test:',
        '\t@node --test test/sum.test.mjs',
        '',
      ].join('\n'),
      'test/sum.test.mjs': PASSING_TESTS,
    });
    const report = await validateTask(options({}));
    expect(report.status).toBe('COMPLETE_WITH_WARNINGS');
    expect(
      report.checks.map((check) => [check.name, check.command, check.passed, check.skipped]),
    ).toEqual([
      ['lint', 'make lint', false, false],
      ['tests', 'make test', true, false],
      ['coverage', null, false, true],
      ['security', null, false, true],
      ['build', null, false, true],
    ]);
    expect(report.checks[0]!.exitCode).toBe(2);
    expect(report.checks[1]!.note).toBe('Makefile target "test"; 2/2 tests passed');
    expect(report.checks[4]!.note).toBe('skipped: no "build" target in Makefile');
    expect(await readFile(join(outputDir, 'lint_results.txt'), 'utf8')).toContain(
      'trailing whitespace',
    );
  });

  it('is COMPLETE_VALIDATED when every check that ran passed, skipped ones listed', async () => {
    await writeFiles(worktree, { 'package.json': packageJson({ test: 'exit 0' }) });
    const report = await validateTask(options({}));
    expect(report.status).toBe('COMPLETE_VALIDATED');
    expect(report.overall_passed).toBe(true);
    expect(report.checks.filter((check) => check.skipped).map((check) => check.name)).toEqual([
      'lint',
      'coverage',
      'security',
      'build',
    ]);
  });

  it('holds coverage the tests wrote (lcov) against the minimum', async () => {
    await writeFiles(worktree, {});
    const report = await validateTask(
      options({
        tests:
          "mkdir -p coverage && printf 'SF:a.js\\nLF:10\\nLH:6\\nend_of_record\\n' > coverage/lcov.info",
        minCoverage: 80,
      }),
    );
    expect(report.coverage).toBe(60);
    expect(report.checks.find((check) => check.name === 'coverage')).toMatchObject({
      skipped: false,
      passed: false,
      command: null,
      note: '60% of lines (coverage/lcov.info), minimum 80%, written by the tests',
    });
    expect(report.status).toBe('COMPLETE_WITH_WARNINGS');
  });

  it('says a coverage below the minimum is why a task failed, not the coverage table its command printed', async () => {
    // A real coverage command exits 0 and prints a table; c8 on is-number printed one like it.
    const table = [
      '----------|---------|----------|---------|---------|-------------------',
      'File      | % Stmts | % Branch | % Funcs | % Lines | Uncovered Line #s ',
      'All files |      70 |     87.5 |      50 |      70 |                   ',
      ' index.js |      70 |     87.5 |      50 |      70 | 21-29             ',
    ].join('\\n');
    await writeFiles(worktree, {
      'write-coverage.mjs': `${WRITE_SUMMARY.replace('pct: 82.5', 'pct: 70')}console.log('${table}');\n`,
    });
    const report = await validateTask(
      options({
        tests: 'true',
        coverage: 'node write-coverage.mjs',
        critical: ['tests', 'coverage'],
        minCoverage: 90,
      }),
    );
    expect(report.status).toBe('FAILED');
    const coverage = report.checks.find((check) => check.name === 'coverage');
    expect(coverage).toMatchObject({
      passed: false,
      exitCode: 0,
      failure: '70% of lines covered, below the minimum 90% (coverage/coverage-summary.json)',
    });
    expect(await validationFailureReason(report, work.path)).toBe(
      'validation failed: coverage; 70% of lines covered, below the minimum 90% (coverage/coverage-summary.json)',
    );
    expect(describeResults(report.checks)).toContain(
      'coverage ✖ (70% of lines covered, below the minimum 90% (coverage/coverage-summary.json); exit 0, ',
    );
    expect(validationSummary(report)).toContain(
      'Failed: coverage (70% of lines covered, below the minimum 90% (coverage/coverage-summary.json); exit 0, critical)',
    );

    // A coverage command that itself fails says why in its output: that is quoted, as before.
    await writeFiles(worktree, {
      'fail.mjs': "console.error('Error: 3 tests failed'); process.exit(1);\n",
    });
    const broken = await validateTask(
      options({
        tests: 'true',
        coverage: 'node fail.mjs',
        critical: ['coverage'],
        minCoverage: 90,
      }),
    );
    expect(broken.checks.find((check) => check.name === 'coverage')!.failure).toBeUndefined();
    expect(await validationFailureReason(broken, work.path)).toBe(
      'validation failed: coverage; its output says: Error: 3 tests failed',
    );
  });

  it('ignores a coverage report older than the run', async () => {
    await writeFiles(worktree, {
      'coverage/coverage-summary.json': JSON.stringify({ total: { lines: { pct: 99 } } }),
    });
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(join(worktree, 'coverage/coverage-summary.json'), old, old);
    const report = await validateTask(options({ tests: 'true' }));
    expect(report.coverage).toBeNull();
    expect(report.checks.find((check) => check.name === 'coverage')!.skipped).toBe(true);
  });

  it('fails a critical security check on high vulnerabilities, and on an audit that could not run', async () => {
    await writeFiles(worktree, {
      'high.json': auditJson({ high: 1, low: 4 }),
      'error.json': JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request failed' } }),
    });
    const high = await validateTask(
      options({ security: 'cat high.json; exit 1', critical: ['security'] }),
    );
    expect(high.status).toBe('FAILED');
    expect(high.checks.find((check) => check.name === 'security')).toMatchObject({
      passed: false,
      exitCode: 1,
      note: 'from .github/parallel-executor.yml; 0 critical, 1 high, 0 moderate, 4 low (fails on high and above)',
    });
    const lenient = await validateTask({
      ...options({ security: 'cat high.json; exit 1' }),
      auditFailOn: 'critical',
    });
    expect(lenient.status).toBe('COMPLETE_VALIDATED');

    const broken = await validateTask(options({ security: 'cat error.json; exit 1' }));
    expect(broken.status).toBe('COMPLETE_WITH_WARNINGS');
    expect(broken.audit).toBeNull();
    expect(broken.checks.find((check) => check.name === 'security')!.note).toContain(
      'the audit could not run: ENOTFOUND: request failed',
    );
    // Critical, the task's reason says the audit did not run, not the tail of its JSON.
    const blocking = await validateTask(
      options({ security: 'cat error.json; exit 1', critical: ['security'] }),
    );
    expect(await validationFailureReason(blocking, work.path)).toBe(
      'validation failed: security; the audit could not run: ENOTFOUND: request failed',
    );
    expect(await validationFailureReason(high, work.path)).toBe(
      'validation failed: security; 0 critical, 1 high, 0 moderate, 4 low vulnerabilities (fails on high and above)',
    );
  });

  it('fails a check that runs out of time, stopping its processes', async () => {
    await writeFiles(worktree, {});
    const started = Date.now();
    const report = await validateTask({
      ...options({ tests: 'sleep 20 & wait' }),
      checkTimeoutMs: 200,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(report.status).toBe('FAILED');
    expect(report.checks.find((check) => check.name === 'tests')).toMatchObject({
      passed: false,
      exitCode: null,
      note: 'from .github/parallel-executor.yml; timed out after 200ms',
    });
  });

  it('rejects on abort and writes no report', async () => {
    await writeFiles(worktree, {});
    const controller = new AbortController();
    const pending = validateTask({
      ...options({ tests: 'sleep 20', build: 'echo never > built.txt' }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('cancelled by the user')), 150);
    await expect(pending).rejects.toThrow('cancelled by the user');
    await expect(access(join(outputDir, 'validation_report.json'))).rejects.toThrow();
    await expect(access(join(worktree, 'built.txt'))).rejects.toThrow();
  });
});
