/**
 * Coalesces bursts of updates into one write per key (one dashboard edit per execution): the first
 * update arms a timer, later ones within the window only replace what will be written, and edits
 * of one key are at least `minIntervalMs` apart. Timers and the clock are injected so tests and
 * the benchmark run on virtual time.
 */
import type { Clock } from '../engine/ports/clock.js';
import { systemClock } from '../engine/ports/clock.js';

export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface CoalescerOptions {
  /** How long to gather updates after the first one (default 3 s). */
  delayMs?: number;
  /** Least time between the starts of two writes of one key (default 10 s). */
  minIntervalMs?: number;
  timers?: Timers;
  clock?: Clock;
  onError?: (key: string, error: unknown) => void;
}

interface Entry {
  write: () => Promise<void>;
  delayMs: number;
  dirty: boolean;
  timer: unknown;
  /** When the armed timer fires. */
  dueAt: number;
  running: Promise<void> | null;
  lastStart: number;
}

export class Coalescer {
  readonly #entries = new Map<string, Entry>();
  /** When each key's last write started; outlives the entry so spacing holds across bursts. */
  readonly #lastStarts = new Map<string, number>();
  readonly #delayMs: number;
  readonly #minIntervalMs: number;
  readonly #timers: Timers;
  readonly #clock: Clock;
  readonly #onError: (key: string, error: unknown) => void;
  #writes = 0;

  constructor(options: CoalescerOptions = {}) {
    this.#delayMs = options.delayMs ?? 3000;
    this.#minIntervalMs = options.minIntervalMs ?? 10_000;
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * Ask for `write` to run soon; a later call before it runs replaces it. `delayMs` (default: the
   * coalescer's) is how long this update may wait for a later one; an armed timer is brought
   * forward when this update may wait less, never put back.
   */
  schedule(key: string, write: () => Promise<void>, delayMs = this.#delayMs): void {
    const entry = this.#entries.get(key);
    if (entry) {
      entry.write = write;
      entry.delayMs = delayMs;
      entry.dirty = true;
      if (entry.timer !== null && this.#dueAt(entry) < entry.dueAt) {
        this.#timers.clear(entry.timer);
        entry.timer = null;
      }
      if (entry.timer === null && entry.running === null) this.#arm(key, entry);
      return;
    }
    this.#forgetOldStarts();
    const created: Entry = {
      write,
      delayMs,
      dirty: true,
      timer: null,
      dueAt: 0,
      running: null,
      lastStart: this.#lastStarts.get(key) ?? Number.NEGATIVE_INFINITY,
    };
    this.#entries.set(key, created);
    this.#arm(key, created);
  }

  /** Write `key` now if it has a pending update, and wait for it (a final edit, a test). */
  async flush(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return;
    if (entry.running) await entry.running;
    if (entry.timer !== null) {
      this.#timers.clear(entry.timer);
      entry.timer = null;
    }
    if (entry.dirty) await this.#fire(key, entry);
  }

  /** Forget a pending update of `key` (its execution ended and wrote its final state itself). */
  discard(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    if (entry.timer !== null) this.#timers.clear(entry.timer);
    entry.timer = null;
    entry.dirty = false;
    if (entry.running === null) this.#entries.delete(key);
  }

  /** Write every pending update and wait until nothing runs. */
  async drain(): Promise<void> {
    while (this.#entries.size > 0) {
      await Promise.all([...this.#entries.keys()].map((key) => this.flush(key)));
    }
  }

  pending(): string[] {
    return [...this.#entries.keys()];
  }

  /** Writes made so far (for tests and the benchmark). */
  get writes(): number {
    return this.#writes;
  }

  #forgetOldStarts(): void {
    if (this.#lastStarts.size < 1000) return;
    const horizon = this.#clock.now().getTime() - this.#minIntervalMs;
    for (const [key, at] of this.#lastStarts) if (at < horizon) this.#lastStarts.delete(key);
  }

  #dueAt(entry: Entry): number {
    const now = this.#clock.now().getTime();
    return now + Math.max(entry.delayMs, this.#minIntervalMs - (now - entry.lastStart));
  }

  #arm(key: string, entry: Entry): void {
    entry.dueAt = this.#dueAt(entry);
    const wait = entry.dueAt - this.#clock.now().getTime();
    entry.timer = this.#timers.set(() => {
      entry.timer = null;
      void this.#fire(key, entry);
    }, wait);
  }

  #fire(key: string, entry: Entry): Promise<void> {
    if (!entry.dirty) return entry.running ?? Promise.resolve();
    entry.dirty = false;
    entry.lastStart = this.#clock.now().getTime();
    this.#lastStarts.set(key, entry.lastStart);
    this.#writes++;
    const run = entry
      .write()
      .catch((error: unknown) => this.#onError(key, error))
      .finally(() => {
        entry.running = null;
        if (entry.dirty) this.#arm(key, entry);
        else if (entry.timer === null) this.#entries.delete(key);
      });
    entry.running = run;
    return run;
  }
}
