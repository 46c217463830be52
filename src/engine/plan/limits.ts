import type { Diagnostic } from './schema.js';

/**
 * How much plan the parser takes. A plan comes from a branch (a pull request's, in the Action and
 * the App), and Markdown's cost grows with size times nesting: a 1 MB list nested 1,000 deep took
 * the parser a minute, during which the App answered no webhook. The largest real plan seen is
 * some 20 KB, nested 15 columns deep.
 */
export const MAX_PLAN_BYTES = 512 * 1024;
/** Columns of indentation, quote and list markers before a line's text. */
export const MAX_NESTING = 100;

// Indentation, `>` and list markers (`-`, `*`, `+`, `1.`, `1)`) before the text of a line.
const PREFIX = /^[ \t>]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+[ \t>]*)*/u;

/** The codes of `planLimitProblem`'s errors: a plan with one was not read at all. */
export const LIMIT_CODES: ReadonlySet<string> = new Set(['plan-too-large', 'plan-too-deep']);

/** An error when the text is beyond these limits (then it is not parsed), else null. */
export function planLimitProblem(text: string): Diagnostic | null {
  if (text.length > MAX_PLAN_BYTES) {
    return {
      severity: 'error',
      code: 'plan-too-large',
      message: `the plan is ${text.length.toLocaleString('en-US')} characters long, more than the ${MAX_PLAN_BYTES.toLocaleString('en-US')} a plan may have; it was not read`,
      line: 1,
      column: 1,
      hint: 'Is it the plan? A plan is a Markdown file of text; split a larger one by group.',
    };
  }
  let line = 0;
  for (let start = 0; start <= text.length; line += 1) {
    const end = text.indexOf('\n', start);
    const row = text.slice(start, end === -1 ? text.length : end);
    start = end === -1 ? text.length + 1 : end + 1;
    if (row.length <= MAX_NESTING || row.trim() === '') continue;
    const width = PREFIX.exec(row)![0].replace(/\t/gu, '    ').length;
    if (width <= MAX_NESTING) continue;
    return {
      severity: 'error',
      code: 'plan-too-deep',
      message: `this line's text starts ${width} columns in (indentation, > and list markers), more than the ${MAX_NESTING} a plan may nest; the plan was not read`,
      line: line + 1,
      column: 1,
      hint: 'Nest lists and quotes a few levels deep at most; put deeply indented text in a file of its own.',
    };
  }
  return null;
}
