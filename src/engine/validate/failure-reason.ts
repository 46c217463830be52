import { relative } from 'node:path';
import { readFileTail } from '../file-tail.js';
import { plainText } from '../terminal-text.js';
import type { ValidationReport } from './schema.js';

/** How a reason for a failed validation starts (the report adds only what it does not say). */
export const VALIDATION_FAILED = 'validation failed';

/** How much of a check's output the reason quotes: a few lines, at most this many characters. */
const LINES = 5;
const MAX_CHARS = 300;
/** Read from the end of the output file: enough for a test runner's last failures and summary. */
const TAIL_BYTES = 16 * 1024;

/**
 * A line that reports a failure, as test runners, linters and compilers write them: TAP's `not ok`,
 * a `FAIL`, `✗` or `●` mark, an `…Error`, `error`, `expected …`, `failed`.
 */
const FAILURE_LINE =
  /\bnot ok\b|^(?:FAIL\b|[✗✖×●])|\w*Error\b|\berror\b|\bexpected\b|\bfail(?:ed|ing|ure)?\b/i;
/** A runner's closing counts (TAP's `# fail 1`): they say nothing of what failed. */
const COUNT_LINE = /^#\s*(?:tests|suites|pass|fail|cancelled|skipped|todo|duration_ms)\b/;

/**
 * Why a task failed its validation, in one line: the critical checks that failed, once, and what
 * the first one's output says of the failure (its failure lines, else its last lines; plain text,
 * bounded), or where that output is when there is none to quote. A check that failed by what was
 * read from it rather than by its exit code (coverage below the minimum, an audit) says that
 * instead: its output's last lines would be a coverage table or audit JSON that never says why.
 */
export async function validationFailureReason(
  report: ValidationReport,
  repoRoot: string,
): Promise<string> {
  const failed = report.checks.filter((c) => !c.passed && !c.skipped && c.critical);
  const first = failed[0];
  if (first === undefined) return `${VALIDATION_FAILED}: see the validation report`;
  const what = `${VALIDATION_FAILED}: ${failed.map((c) => c.name).join(', ')}`;
  const whose = failed.length > 1 ? ` (${first.name})` : '';
  if (typeof first.failure === 'string') return `${what}; ${first.failure}${whose}`;
  if (first.outputFile === null) return what;
  const where = relative(repoRoot, first.outputFile);
  const text = await readFileTail(first.outputFile, TAIL_BYTES);
  if (text === null) return `${what}; its output is in ${where}`;
  const quoted = failureLines(text);
  if (quoted === null) return `${what}; it printed nothing (${where})`;
  return `${what}; ${quoted.said}${whose}: ${quoted.text}`;
}

/**
 * What a command's output says of its failure, for a reason: `its output says: <failure lines>`
 * or `last output: <last lines>`, bounded; null when it printed nothing.
 */
export function outputSays(text: string): string | null {
  const quoted = failureLines(text);
  return quoted === null ? null : `${quoted.said}: ${quoted.text}`;
}

/** What the output says of the failure: its failure lines (the first few), else its last lines. */
function failureLines(text: string): { said: string; text: string } | null {
  const lines = plainText(text)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length === 0) return null;
  const failures = [
    ...new Set(lines.filter((line) => FAILURE_LINE.test(line) && !COUNT_LINE.test(line))),
  ];
  if (failures.length > 0) {
    return { said: 'its output says', text: bounded(failures.slice(0, LINES), 'start') };
  }
  return { said: 'last output', text: bounded(lines.slice(-LINES), 'end') };
}

/** Lines joined with ` | `, cut to MAX_CHARS keeping their start (the first failure) or end. */
function bounded(lines: string[], keep: 'start' | 'end'): string {
  const chars = Array.from(lines.join(' | '));
  if (chars.length <= MAX_CHARS) return chars.join('');
  return keep === 'start'
    ? `${chars.slice(0, MAX_CHARS).join('')}…`
    : `…${chars.slice(-MAX_CHARS).join('')}`;
}
