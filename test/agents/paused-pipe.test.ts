import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { holdWhenPaused } from '../../src/engine/agents/paused-pipe.js';

/**
 * A child printing a numbered line every 20 ms, 40 of them, then 200 KB at once (a flood), then
 * END; the parent pauses its stdout after the first line for 300 ms (the child prints on).
 */
async function pauseAfterFirstLine(hold: boolean) {
  const child = spawn(
    'sh',
    [
      '-c',
      'i=0; while [ $i -lt 40 ]; do echo "line $i"; sleep 0.02; i=$((i+1)); done; head -c 200000 /dev/zero | tr "\\0" x; echo; echo END',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const stdout = child.stdout as Readable;
  if (hold) holdWhenPaused(stdout);
  const chunks: Buffer[] = [];
  const first = new Promise<void>((resolve) => {
    stdout.once('data', () => {
      stdout.pause();
      resolve();
    });
  });
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = once(stdout, 'close');
  await first;
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The reads the stream made from the pipe while nobody consumed it: one chunk each.
  const bufferedWhilePaused = bufferedChunks(stdout);
  stdout.resume();
  await closed;
  const text = Buffer.concat(chunks).toString();
  return { bufferedWhilePaused, text };
}

/** How many chunks wait in the stream's buffer (a BufferList on Node 20, an array after). */
function bufferedChunks(stream: Readable): number {
  const state = (
    stream as unknown as {
      _readableState: { buffer: { length: number } | unknown[]; bufferIndex?: number };
    }
  )._readableState;
  return state.buffer.length - (Array.isArray(state.buffer) ? (state.bufferIndex ?? 0) : 0);
}

describe('a paused agent pipe', () => {
  it('is read once at most while paused, and gives every byte once resumed, a flood too', async () => {
    const held = await pauseAfterFirstLine(true);
    // Lines were printed all through the pause: one read at most after it.
    expect(held.bufferedWhilePaused).toBeLessThanOrEqual(1);
    const lines = held.text.split('\n');
    expect(lines.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));
    expect(lines[40]).toBe('x'.repeat(200_000));
    expect(lines[41]).toBe('END');
  });

  it('without it, the stream goes on reading each write into its buffer while paused (what it prevents)', async () => {
    const plain = await pauseAfterFirstLine(false);
    expect(plain.bufferedWhilePaused).toBeGreaterThanOrEqual(2);
    expect(plain.text.split('\n')[41]).toBe('END');
  });
});
