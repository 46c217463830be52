export interface TestCounts {
  passed: number;
  total: number;
}

/** Colour codes would split "12 passed" from its label. */
// eslint-disable-next-line no-control-regex -- matching the escape character is the point
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * Test counts from a runner's console output, for the runners people use most: vitest, jest,
 * mocha, node:test / TAP, pytest. The last summary in the output wins (a watch re-run or a second
 * project prints its own). Null when nothing recognisable was printed: an unknown number is better
 * than a wrong one.
 */
export function parseTestCounts(output: string): TestCounts | null {
  const text = output.replace(ANSI, '');
  for (const parse of PARSERS) {
    const counts = parse(text);
    if (counts !== null) return counts;
  }
  return null;
}

const PARSERS: ReadonlyArray<(text: string) => TestCounts | null> = [
  vitest,
  jest,
  tap,
  mocha,
  pytest,
];

/** `      Tests  1 failed | 11 passed | 2 skipped (14)` — not the `Test Files` line above it. */
function vitest(text: string): TestCounts | null {
  const line = lastMatch(text, /^\s*Tests\s{2,}(.+)\((\d+)\)\s*$/gm);
  if (line === null) return null;
  return { passed: count(line[1]!, 'passed'), total: Number(line[2]) };
}

/** `Tests:       1 failed, 11 passed, 12 total` */
function jest(text: string): TestCounts | null {
  const line = lastMatch(text, /^\s*Tests:\s+(.*\b(\d+) total)\s*$/gm);
  if (line === null) return null;
  return { passed: count(line[1]!, 'passed'), total: Number(line[2]) };
}

/** node:test's TAP and spec reporters, tape: `# tests 12` / `ℹ tests 12`, then `# pass 11`. */
function tap(text: string): TestCounts | null {
  const total = lastMatch(text, /^[#ℹ]\s*tests\s+(\d+)\s*$/gm);
  const passed = lastMatch(text, /^[#ℹ]\s*pass\s+(\d+)\s*$/gm);
  if (total === null || passed === null) return null;
  return { passed: Number(passed[1]), total: Number(total[1]) };
}

/** `  11 passing (30ms)` and `  1 failing`; pending tests did not run, so they are not counted. */
function mocha(text: string): TestCounts | null {
  const passing = lastMatch(text, /^\s*(\d+) passing\b/gm);
  if (passing === null) return null;
  const failing = lastMatch(text, /^\s*(\d+) failing\b/gm);
  const passed = Number(passing[1]);
  return { passed, total: passed + Number(failing?.[1] ?? 0) };
}

/** `==== 1 failed, 11 passed, 2 skipped in 0.12s ====` or `11 passed in 0.03s`. */
function pytest(text: string): TestCounts | null {
  const line = lastMatch(text, /^=*\s*((?:\d+ \w+,?\s*)+) in [\d.]+s\b.*$/gm);
  if (line === null) return null;
  const summary = line[1]!;
  const passed = count(summary, 'passed');
  const failed = count(summary, 'failed') + count(summary, 'errors?');
  if (!/\bpassed\b|\bfailed\b|\berrors?\b/.test(summary)) return null;
  return { passed, total: passed + failed };
}

function count(summary: string, label: string): number {
  const match = new RegExp(`(\\d+) ${label}\\b`).exec(summary);
  return match === null ? 0 : Number(match[1]);
}

function lastMatch(text: string, pattern: RegExp): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  for (const match of text.matchAll(pattern)) last = match as RegExpExecArray;
  return last;
}
