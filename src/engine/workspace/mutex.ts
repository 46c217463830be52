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
}

export function createMutex(): Mutex {
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
  };
}
