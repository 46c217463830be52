import { StringDecoder } from 'node:string_decoder';

/** A runaway line without a newline is cut here, so one chatty agent cannot exhaust memory. */
const MAX_LINE = 8 * 1024 * 1024;

/**
 * Splits a byte stream into lines (`\n` or `\r\n`), decoding UTF-8 across chunk boundaries.
 * `flush()` returns the unterminated tail once the stream has ended.
 */
export function createLineSplitter(onLine: (line: string) => void): {
  write(chunk: Buffer): void;
  flush(): void;
} {
  const decoder = new StringDecoder('utf8');
  let pending = '';

  const emit = (line: string): void => onLine(line.endsWith('\r') ? line.slice(0, -1) : line);

  return {
    write(chunk) {
      pending += decoder.write(chunk);
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        emit(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      if (pending.length > MAX_LINE) {
        emit(pending);
        pending = '';
      }
    },
    flush() {
      pending += decoder.end();
      if (pending !== '') emit(pending);
      pending = '';
    },
  };
}
