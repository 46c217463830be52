/**
 * Periodic work of many agents on one timer per period: 32 agents each polling on their own
 * timer wake the orchestrator 32 times per period, at 32 different moments; on a shared tick it
 * wakes once, and the pipes resumed together are read in the same turn of the event loop. The
 * timer runs only while something is registered, and never keeps the process alive by itself.
 */
export interface Ticker {
  /** Calls `work` at every tick until the returned function is called. */
  every(work: () => void): () => void;
  /** Calls `work` once, at the next tick, unless the returned function is called first. */
  once(work: () => void): () => void;
}

const tickers = new Map<number, Ticker>();

/** The shared ticker of this period (milliseconds). */
export function ticker(periodMs: number): Ticker {
  let found = tickers.get(periodMs);
  if (found === undefined) {
    found = createTicker(periodMs);
    tickers.set(periodMs, found);
  }
  return found;
}

function createTicker(periodMs: number): Ticker {
  const repeating = new Set<() => void>();
  let pending = new Set<() => void>();
  let timer: NodeJS.Timeout | null = null;

  const tick = (): void => {
    const due = pending;
    pending = new Set();
    for (const work of [...repeating, ...due]) {
      try {
        work();
      } catch {
        // one caller's failure is its own; the others still get their tick
      }
    }
    if (repeating.size === 0 && pending.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
  const start = (): void => {
    if (timer !== null) return;
    timer = setInterval(tick, periodMs);
    timer.unref();
  };

  return {
    every(work) {
      const entry = (): void => work();
      repeating.add(entry);
      start();
      return () => repeating.delete(entry);
    },
    once(work) {
      const entry = (): void => work();
      pending.add(entry);
      start();
      return () => pending.delete(entry);
    },
  };
}
