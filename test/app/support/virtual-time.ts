/**
 * Virtual time for the app: a clock, an instant `sleep` that moves it, and timers that fire only
 * when the test advances time (or the app is drained). Write pacing and dashboard debouncing run
 * at full speed but keep their real timing, which the benchmark reads back.
 */
import type { Clock } from '../../../src/engine/ports/clock.js';
import type { Timers } from '../../../src/app/coalescer.js';

export interface VirtualTime {
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  timers: Timers;
  now(): number;
  /** Move to `at` (never backwards), firing due timers in order. */
  advanceTo(at: number): Promise<void>;
  advance(ms: number): Promise<void>;
  pendingTimers(): number;
}

/**
 * `settle`: what to wait for before time moves on (the harness waits for requests in flight, which
 * take a moment of real time; virtual time must not jump past them).
 */
export function virtualTime(
  start = Date.UTC(2026, 10, 5, 10, 0, 0),
  settle: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): VirtualTime {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const time: VirtualTime = {
    clock: { now: () => new Date(now) },
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    timers: {
      set(callback, ms) {
        const id = nextId++;
        timers.set(id, { at: now + Math.max(0, ms), callback });
        return id;
      },
      clear(handle) {
        timers.delete(handle as number);
      },
    },
    now: () => now,
    async advanceTo(at) {
      for (;;) {
        await settle();
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= at)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].callback();
        // Let the callback's promise chain run before looking for the next timer.
        await settle();
      }
      now = Math.max(now, at);
    },
    advance: (ms) => time.advanceTo(now + ms),
    pendingTimers: () => timers.size,
  };
  return time;
}
