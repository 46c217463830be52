/** A clock that only moves when the code under test sleeps: pauses are recorded, not waited. */
import type { Clock } from '../../src/engine/ports/clock.js';

export interface FakeTime {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Every pause asked for, in order. */
  sleeps: number[];
  /** Milliseconds since the fake epoch. */
  elapsed(): number;
}

export function fakeTime(start = Date.UTC(2026, 0, 1, 12, 0, 0)): FakeTime {
  let now = start;
  const sleeps: number[] = [];
  return {
    clock: { now: () => new Date(now) },
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
    elapsed: () => now - start,
  };
}
