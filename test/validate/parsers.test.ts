import { describe, expect, it } from 'vitest';
import { auditFails, parseAudit } from '../../src/engine/validate/audit.js';
import { lcovPercent, summaryPercent } from '../../src/engine/validate/coverage.js';
import { parseTestCounts } from '../../src/engine/validate/test-counts.js';
import { classify } from '../../src/engine/validate/classify.js';
import { auditJson } from './helpers.js';

describe('parseTestCounts', () => {
  it('reads vitest, ignoring the Test Files line and colours', () => {
    const output = [
      ' \u001b[32m✓\u001b[39m test/a.test.ts (3 tests) 4ms',
      '',
      '\u001b[2m Test Files \u001b[22m \u001b[1m\u001b[31m1 failed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[1m\u001b[32m2 passed\u001b[39m\u001b[22m\u001b[90m (3)\u001b[39m',
      '\u001b[2m      Tests \u001b[22m \u001b[1m\u001b[31m1 failed\u001b[39m\u001b[22m\u001b[2m | \u001b[22m\u001b[1m\u001b[32m11 passed\u001b[39m\u001b[22m | 2 skipped\u001b[90m (14)\u001b[39m',
      '\u001b[2m   Start at \u001b[22m 10:00:00',
    ].join('\n');
    expect(parseTestCounts(output)).toEqual({ passed: 11, total: 14 });
  });

  it('reads jest', () => {
    const output =
      'Test Suites: 1 failed, 2 passed, 3 total\nTests:       1 failed, 11 passed, 12 total\nSnapshots:   0 total\n';
    expect(parseTestCounts(output)).toEqual({ passed: 11, total: 12 });
  });

  it('reads mocha', () => {
    expect(parseTestCounts('\n  9 passing (30ms)\n  1 pending\n  2 failing\n')).toEqual({
      passed: 9,
      total: 11,
    });
  });

  it('reads node:test TAP and spec reporters', () => {
    expect(parseTestCounts('1..3\n# tests 3\n# suites 0\n# pass 2\n# fail 1\n')).toEqual({
      passed: 2,
      total: 3,
    });
    expect(parseTestCounts('ℹ tests 5\nℹ suites 1\nℹ pass 5\nℹ fail 0\n')).toEqual({
      passed: 5,
      total: 5,
    });
  });

  it('reads pytest', () => {
    expect(parseTestCounts('==== 1 failed, 11 passed, 2 skipped in 0.12s ====\n')).toEqual({
      passed: 11,
      total: 12,
    });
    expect(parseTestCounts('5 passed in 0.03s\n')).toEqual({ passed: 5, total: 5 });
  });

  it('answers null for output it does not know', () => {
    expect(parseTestCounts('all good\n')).toBeNull();
    expect(parseTestCounts('')).toBeNull();
  });
});

describe('coverage readers', () => {
  it('reads total.lines.pct from a json-summary', () => {
    expect(summaryPercent(JSON.stringify({ total: { lines: { pct: 87.456 } } }))).toBe(87.46);
    expect(summaryPercent(JSON.stringify({ total: { lines: { pct: 'Unknown' } } }))).toBeNull();
    expect(summaryPercent('not json')).toBeNull();
  });

  it('sums LH and LF over lcov records', () => {
    const lcov = 'SF:a.js\nLF:10\nLH:9\nend_of_record\nSF:b.js\nLF:30\nLH:21\nend_of_record\n';
    expect(lcovPercent(lcov)).toBe(75);
    expect(lcovPercent('SF:a.js\nend_of_record\n')).toBeNull();
  });
});

describe('parseAudit', () => {
  it('counts npm audit vulnerabilities by severity', () => {
    const reading = parseAudit(auditJson({ high: 2, low: 1 }));
    expect(reading).toEqual({
      kind: 'counts',
      counts: { critical: 0, high: 2, moderate: 0, low: 1, info: 0 },
    });
  });

  it('recognises npm audit errors and foreign output', () => {
    const error = JSON.stringify({
      error: { code: 'ENOAUDIT', summary: 'Your configured registry does not support audit' },
    });
    expect(parseAudit(error)).toEqual({
      kind: 'error',
      message: 'ENOAUDIT: Your configured registry does not support audit',
    });
    expect(parseAudit('0 vulnerabilities')).toEqual({ kind: 'unreadable' });
  });

  it("says why npm 11's audit could not run when its error summary is empty", () => {
    // What npm 11.19 printed here when the registry refused the bulk advisory request.
    const npm11 = JSON.stringify({
      message:
        '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      method: 'POST',
      uri: 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      body: '',
      error: { summary: '', detail: '' },
    });
    expect(parseAudit(npm11)).toEqual({
      kind: 'error',
      message:
        '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    });
    expect(parseAudit(JSON.stringify({ error: { summary: '' } }))).toEqual({
      kind: 'error',
      message: 'unknown error (no message in its JSON)',
    });
  });

  it('reads pnpm audit JSON (npm 6 shape) and Yarn classic JSON lines', () => {
    // pnpm audit --json: advisories plus metadata.vulnerabilities, as npm 6 printed.
    const pnpm = JSON.stringify({
      actions: [],
      advisories: { '1': { module_name: 'lodash', severity: 'critical' } },
      muted: [],
      metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 1 } },
    });
    expect(parseAudit(pnpm)).toEqual({
      kind: 'counts',
      counts: { critical: 1, high: 0, moderate: 0, low: 0, info: 0 },
    });
    // yarn audit --json (classic): one object per line, the counts in the last one.
    const yarn = [
      JSON.stringify({ type: 'auditAdvisory', data: { advisory: { severity: 'high' } } }),
      JSON.stringify({
        type: 'auditSummary',
        data: { vulnerabilities: { info: 0, low: 2, moderate: 0, high: 1, critical: 0 } },
      }),
      '',
    ].join('\n');
    expect(parseAudit(yarn)).toEqual({
      kind: 'counts',
      counts: { critical: 0, high: 1, moderate: 0, low: 2, info: 0 },
    });
    const yarnError = `${JSON.stringify({ type: 'error', data: 'Request failed "404 Not Found"' })}\n`;
    expect(parseAudit(yarnError)).toEqual({
      kind: 'error',
      message: 'Request failed "404 Not Found"',
    });
    expect(parseAudit('{"type":"info","data":"x"}\n{"type":"warning","data":"y"}\n')).toEqual({
      kind: 'unreadable',
    });
  });

  it('fails on the given severity and above', () => {
    const counts = { critical: 0, high: 1, moderate: 3, low: 0, info: 0 };
    expect(auditFails(counts, 'critical')).toBe(false);
    expect(auditFails(counts, 'high')).toBe(true);
    expect(auditFails({ ...counts, high: 0 }, 'high')).toBe(false);
    expect(auditFails({ ...counts, high: 0 }, 'moderate')).toBe(true);
  });
});

describe('classify', () => {
  const check = (passed: boolean, critical: boolean, skipped = false) => ({
    passed,
    critical,
    skipped,
  });
  it('applies the seed decision point, ignoring skipped checks', () => {
    expect(classify([check(true, true), check(false, true, true)])).toBe('COMPLETE_VALIDATED');
    expect(classify([check(true, true), check(false, false)])).toBe('COMPLETE_WITH_WARNINGS');
    expect(classify([check(false, true), check(false, false)])).toBe('FAILED');
  });
});
