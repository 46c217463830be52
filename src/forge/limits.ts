/**
 * GitHub's size limits, and how we stay under them without hiding that we did: text that is cut
 * ends with a visible note saying how much was left out.
 */

/** Comment bodies may hold 65,536 characters; we keep a margin for the marker and the note. */
export const COMMENT_LIMIT = 60_000;
/** Pull request bodies share the comment limit. */
export const PULL_REQUEST_BODY_LIMIT = 60_000;
/** `output.summary` and `output.text` of a check run. */
export const CHECK_OUTPUT_LIMIT = 65_535;
/** Annotations per check-run request; more go in further updates. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** Buttons on a check run, and their field lengths. */
export const CHECK_ACTIONS_MAX = 3;
export const CHECK_ACTION_LABEL_MAX = 20;
export const CHECK_ACTION_IDENTIFIER_MAX = 20;
export const CHECK_ACTION_DESCRIPTION_MAX = 40;
/** `workflow_dispatch` inputs: count and total characters. */
export const DISPATCH_INPUTS_MAX = 25;
export const DISPATCH_INPUTS_CHARS_MAX = 65_535;

export interface CapResult {
  text: string;
  /** Characters of the original left out (0 when it fitted). */
  cut: number;
}

/**
 * `text` in at most `limit` characters (UTF-16 units, which never undercounts GitHub's limit).
 * When it does not fit, it is cut at a line break, an open code fence is closed, and a note says
 * how many characters and lines were left out and where to find them (`where`).
 */
export function capText(
  text: string,
  limit: number,
  where = 'the full text is in the run logs',
): CapResult {
  if (text.length <= limit) return { text, cut: 0 };
  const reserve = 240 + where.length;
  let keep = text.slice(0, Math.max(0, limit - reserve));
  const lastBreak = keep.lastIndexOf('\n');
  if (lastBreak > keep.length / 2) keep = keep.slice(0, lastBreak);
  // A surrogate pair split in two would leave a lone half at the end.
  if (/[\uD800-\uDBFF]$/.test(keep)) keep = keep.slice(0, -1);
  const fences = keep.match(/^ {0,3}(```|~~~)/gm)?.length ?? 0;
  const closeFence = fences % 2 === 1 ? '\n```' : '';
  const cut = text.length - keep.length;
  const linesCut =
    text.slice(keep.length).split('\n').length - (text[keep.length] === '\n' ? 1 : 0);
  const note =
    `${closeFence}\n\n---\n> ✂️ Cut to stay under GitHub's size limit: ` +
    `${cut.toLocaleString('en-US')} characters (${linesCut.toLocaleString('en-US')} lines) were left out; ${where}.`;
  return { text: keep + note, cut };
}

/** `items` in consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
