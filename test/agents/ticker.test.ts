import { describe, expect, it } from 'vitest';
import { ticker } from '../../src/engine/agents/ticker.js';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the shared ticker', () => {
  it('runs every registered poll in one turn, once-work once, and stops what is cancelled', async () => {
    const tick = ticker(40);
    const turns: number[][] = [];
    let turn: number[] | null = null;
    const note = (id: number) => () => {
      // Works run in the same turn share one array: a new one starts after a pause.
      if (turn === null) {
        turn = [];
        turns.push(turn);
        setImmediate(() => (turn = null));
      }
      turn.push(id);
    };
    const stopA = tick.every(note(1));
    const stopB = tick.every(note(2));
    tick.once(note(3));
    const cancelled = tick.once(note(4));
    cancelled();
    const until = async (done: () => boolean) => {
      for (const deadline = Date.now() + 5_000; !done() && Date.now() < deadline;) await wait(10);
    };
    await until(() => turns.length >= 2);
    stopA();
    const stoppedAt = turns.length;
    await until(() => turns.length >= stoppedAt + 2);
    stopB();
    const after = turns.length;
    await wait(150);
    // The first turn had both polls and the once-work, together; the cancelled one never ran.
    expect(turns[0]).toEqual([1, 2, 3]);
    expect(turns.flat()).not.toContain(4);
    expect(turns.flat().filter((id) => id === 3)).toHaveLength(1);
    // After stopA only 2 ran (the turn under way when it stopped may still hold 1); after both
    // stopped, nothing more.
    expect(turns.at(-1)).toEqual([2]);
    expect(turns.length).toBe(after);
  });

  it('is one timer per period, shared by every caller', () => {
    expect(ticker(40)).toBe(ticker(40));
    expect(ticker(40)).not.toBe(ticker(41));
  });
});
