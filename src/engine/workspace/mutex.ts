import { availableParallelism } from 'node:os';

/**
 * Orders repository-wide git operations. `run` is exclusive: the operation touches shared files
 * under .git (info/exclude, `worktree prune`, a ref), and two at once can fail on a lock for no
 * reason the user can fix. `shared` operations run together, but never alongside an exclusive one
 * (`git worktree add` with distinct paths is safe in parallel, not next to a `worktree prune`,
 * which could delete another's half-made admin folder). First come, first served.
 */
export interface Mutex {
  run<T>(work: () => Promise<T>): Promise<T>;
  shared<T>(work: () => Promise<T>): Promise<T>;
  /**
   * A worktree's checkout (apart from the lock): at most a few at once, about one per core. Eight
   * at once finish together no sooner than two at a time, while two at a time give the first
   * agents their worktrees (and then their collection its turn) early.
   */
  checkout<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Heavy work that can wait, such as collecting an ended agent's work (it reads the whole index
   * and worktree): it takes one of the checkout slots, but never ahead of a checkout waiting for
   * one. On a big repository, tasks whose agents end early would otherwise slow down the checkouts
   * of those still waiting to start.
   */
  afterCheckouts<T>(work: () => Promise<T>): Promise<T>;
}

export function createMutex(checkouts = Math.max(2, availableParallelism())): Mutex {
  const slots = createSlots(checkouts);
  const waiting: { shared: boolean; start: () => void }[] = [];
  let active = 0;
  let exclusive = false;
  const pump = (): void => {
    while (waiting.length > 0 && !exclusive) {
      const next = waiting[0]!;
      if (!next.shared && active > 0) return;
      waiting.shift();
      active += 1;
      exclusive = !next.shared;
      next.start();
    }
  };
  const enter = <T>(shared: boolean, work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.push({
        shared,
        start: () => {
          Promise.resolve()
            .then(work)
            .then(resolve, reject)
            .finally(() => {
              active -= 1;
              if (!shared) exclusive = false;
              pump();
            });
        },
      });
      pump();
    });
  return {
    run: (work) => enter(false, work),
    shared: (work) => enter(true, work),
    checkout: (work) => slots(work, true),
    afterCheckouts: (work) => slots(work, false),
  };
}

/**
 * `work` at most `limit` at a time, first come, first served within each of two lines: a slot
 * freed goes to the first of the urgent line, else to the first of the other.
 */
function createSlots(limit: number): <T>(work: () => Promise<T>, urgent: boolean) => Promise<T> {
  const urgentLine: Array<() => void> = [];
  const otherLine: Array<() => void> = [];
  let running = 0;
  // A slot freed goes straight to the next in line, if any.
  const release = () => {
    const next = urgentLine.shift() ?? otherLine.shift();
    if (next === undefined) running -= 1;
    else next();
  };
  return async (work, urgent) => {
    const line = urgent ? urgentLine : otherLine;
    if (running >= limit) {
      await new Promise<void>((resolve) => line.push(resolve));
    } else running += 1;
    try {
      return await work();
    } finally {
      release();
    }
  };
}
