/**
 * Serialises repository-wide git operations (worktree add/remove, branch deletion): they touch
 * shared files under .git, and two at once can fail on a lock for no reason the user can fix.
 */
export interface Mutex {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function createMutex(): Mutex {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const next = tail.then(work, work);
      tail = next.catch(() => undefined);
      return next;
    },
  };
}
