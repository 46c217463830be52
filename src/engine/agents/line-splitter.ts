/** What a line may keep by default: plenty for a dashboard or a failure message. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines (`\n` or `\r\n`). A line keeps at most `maxLineBytes`; the rest
 * of a longer one is dropped up to its newline (the raw log has it all), so one agent printing a
 * 200 MB line without a newline costs that much less memory than the line. Bytes are decoded per
 * line, so a UTF-8 character split across chunks is whole again (`\n` never occurs inside one).
 * `flush()` returns the unterminated tail once the stream has ended.
 */
export function createLineSplitter(
  onLine: (line: string) => void,
  options: { maxLineBytes?: number } = {},
): {
  /** Feeds a chunk; returns how many lines it completed. */
  write(chunk: Buffer): number;
  flush(): void;
} {
  const limit = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let kept = 0;
  let cut = false;

  const keep = (bytes: Buffer): void => {
    if (kept >= limit) {
      cut ||= bytes.length > 0;
      return;
    }
    const room = limit - kept;
    if (bytes.length > room) cut = true;
    // A copy, so a kept slice does not pin the whole chunk it came from.
    const piece = Buffer.from(bytes.subarray(0, room));
    parts.push(piece);
    kept += piece.length;
  };

  const emit = (): void => {
    let line = Buffer.concat(parts, kept).toString('utf8');
    if (cut) line = `${line.replace(/\uFFFD$/, '')}…`;
    else if (line.endsWith('\r')) line = line.slice(0, -1);
    parts = [];
    kept = 0;
    cut = false;
    onLine(line);
  };

  return {
    write(chunk) {
      let lines = 0;
      let start = 0;
      let newline = chunk.indexOf(NEWLINE, start);
      while (newline !== -1) {
        keep(chunk.subarray(start, newline));
        emit();
        lines += 1;
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
      keep(chunk.subarray(start));
      return lines;
    },
    flush() {
      if (kept > 0 || cut) emit();
    },
  };
}
