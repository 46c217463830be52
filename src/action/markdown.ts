import { mdTable, mdText } from '../engine/report/markdown.js';

/** A GFM table of untrusted text (plan titles, names), each cell through the one escaper. */
export function table(header: string[], rows: string[][]): string {
  const cells = (row: string[]) => row.map((text) => mdText(text, 300));
  return mdTable(cells(header), rows.map(cells)).join('\n');
}

/** A job summary may hold 1 MiB; 340,000 UTF-16 units stay under it even at 3 bytes each. */
export const SUMMARY_LIMIT = 340_000;
