import type { ChildProcess } from 'node:child_process';

/**
 * The line protocol of the tool's small helper processes (the git starter, the environment
 * reader): a bare Node started with `-e`, one JSON request a line on its stdin, answers a line
 * each on its stdout. Both ends split lines the same way: a line may come in many pieces.
 */

/**
 * The child's side, as source text to put at the top of its program: each request line, parsed,
 * goes to the function named `handler`; the child exits when its stdin closes (the orchestrator
 * closed it, or died). Ctrl-C reaches the whole foreground group: the orchestrator decides what
 * stops, and still needs its helpers to keep the work of what it stopped.
 */
export function childLineSource(handler: string): string {
  return `
let parts = [];
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  let start = 0;
  let end;
  while ((end = text.indexOf('\\n', start)) >= 0) {
    parts.push(text.slice(start, end));
    ${handler}(JSON.parse(parts.join('')));
    parts = [];
    start = end + 1;
  }
  if (start < text.length) parts.push(text.slice(start));
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGINT', () => {});
`;
}

/** The orchestrator's side: text as it comes from the child, whole lines to `onLine`. */
export function lineSplitter(onLine: (line: string) => void): (text: string) => void {
  let parts: string[] = [];
  return (text) => {
    let start = 0;
    let end: number;
    while ((end = text.indexOf('\n', start)) >= 0) {
      parts.push(text.slice(start, end));
      const line = parts.join('');
      parts = [];
      start = end + 1;
      onLine(line);
    }
    if (start < text.length) parts.push(text.slice(start));
  };
}

/**
 * Whether the orchestrator waits for the helper: only while a request is under way, so that an
 * idle helper never keeps a finished run from exiting.
 */
export function holdOpen(child: ChildProcess, busy: boolean): void {
  const streams = [child.stdout, ...(busy ? [] : [child.stdin])] as unknown as Array<{
    ref?(): void;
    unref?(): void;
  } | null>;
  if (busy) child.ref();
  else child.unref();
  for (const stream of streams) {
    if (busy) stream?.ref?.();
    else stream?.unref?.();
  }
}
