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
   * A worktree's checkout (apart from the lock): at most 8 at once, or one per core on a bigger
   * machine. A checkout also waits on the disk, so more at once than cores finish sooner: on 2
   * cores, 8 plain `git worktree add` of 10,000 files took 2.34-2.40 s all at once against
   * 2.47-2.58 s two at a time, and a run's last agent started at 1.13x the plain adds (median
   * of 3) with 8 checkouts at once against 1.27x two at a time. Two at a time start the first
   * agents sooner, but a run ends with its last.
   */
  checkout<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Heavy work that can wait, such as collecting an ended agent's work (it reads the whole index
   * and worktree): it starts once every checkout already asked for (running or waiting) has ended,
   * and does not hold a slot (a checkout asked for meanwhile starts at once, and does not hold it
   * up). On a big repository, tasks whose agents end early would otherwise slow down the checkouts
   * of those still waiting to start.
   */
  afterCheckouts<T>(work: () => Promise<T>): Promise<T>;
  /** How many checkouts are asked for and not ended (what `afterCheckouts` would wait for). */
  checkoutsOpen(): number;
}

export function createMutex(checkouts = Math.max(8, availableParallelism())): Mutex {
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
    checkout: (work) => slots.run(work),
    afterCheckouts: async (work) => {
      await slots.done();
      return work();
    },
    checkoutsOpen: () => slots.open(),
  };
}

/**
 * `run`: work at most `limit` at a time, first come, first served. `done`: resolves once every
 * piece of work asked for so far (running or waiting) has ended; work asked for later does not
 * hold it up, so a steady stream of new work cannot keep it waiting.
 */
function createSlots(limit: number): {
  run: <T>(work: () => Promise<T>) => Promise<T>;
  done: () => Promise<void>;
  open: () => number;
} {
  const waiting: Array<() => void> = [];
  let running = 0;
  // Each piece asked for and not ended (running or waiting), settled either way.
  const open = new Set<Promise<unknown>>();
  // A slot freed goes straight to the next in line, if any.
  const release = () => {
    const next = waiting.shift();
    if (next === undefined) running -= 1;
    else next();
  };
  const take = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running += 1;
    try {
      return await work();
    } finally {
      release();
    }
  };
  return {
    run: (work) => {
      const piece = take(work);
      const ended = piece.then(
        () => undefined,
        () => undefined,
      );
      open.add(ended);
      void ended.then(() => open.delete(ended));
      return piece;
    },
    done: async () => {
      await Promise.all([...open]);
    },
    open: () => open.size,
  };
}
