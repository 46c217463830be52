/** Untrusted text (plan titles, names) placed in Markdown the action writes. */

/** One table cell: no pipes, no line breaks, no HTML. */
export function cell(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .trim();
}

export function table(header: string[], rows: string[][]): string {
  const lines = [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** A job summary may hold 1 MiB; 340,000 UTF-16 units stay under it even at 3 bytes each. */
export const SUMMARY_LIMIT = 340_000;
