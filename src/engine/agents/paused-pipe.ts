import type { Readable } from 'node:stream';

/**
 * A paused socket goes on reading until its buffer holds its high-water mark (16 KB): every write
 * of the agent would still wake the orchestrator, only its 'data' event waiting for the resume
 * (measured: 32 agents printing a line and a dot ten times a second woke it 640 times a second).
 * With a mark of one byte, a paused pipe has one read at most: the socket then stops reading (the
 * stream's own back-pressure), and the resume starts it again. Flowing, nothing changes: each read
 * goes straight to 'data' and the socket reads on. The mark has no setter; a stream without one
 * (another Node) is left as it is.
 */
export function holdWhenPaused(stream: Readable): void {
  const state = (stream as unknown as { _readableState?: { highWaterMark?: number } })
    ._readableState;
  if (typeof state?.highWaterMark === 'number') state.highWaterMark = 1;
}
