/**
 * Remembers recent `X-GitHub-Delivery` ids, so a redelivered webhook is handled once. Bounded:
 * the oldest ids are forgotten first. This is only the fast path; the state in GitHub (the
 * dashboard comment's lock) is what keeps a restarted app from starting an execution twice.
 */
export class DeliveryCache {
  readonly #seen = new Map<string, true>();
  readonly #capacity: number;

  constructor(capacity = 5000) {
    this.#capacity = Math.max(1, capacity);
  }

  /** True the first time `id` is seen; false for a repeat. */
  firstSight(id: string): boolean {
    if (this.#seen.has(id)) {
      // Refresh: a redelivery storm keeps the id from being evicted.
      this.#seen.delete(id);
      this.#seen.set(id, true);
      return false;
    }
    this.#seen.set(id, true);
    if (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return true;
  }

  /** Forget `id`, so a redelivery is handled again (after the first attempt failed). */
  forget(id: string): void {
    this.#seen.delete(id);
  }

  has(id: string): boolean {
    return this.#seen.has(id);
  }

  get size(): number {
    return this.#seen.size;
  }
}
