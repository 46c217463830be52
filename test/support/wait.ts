import { setTimeout as delay } from 'node:timers/promises';

/** Poll `probe` until it gives something truthy (its value is returned), or fail after `ms`. */
export async function waitFor<T>(
  probe: () => Promise<T | null | undefined | false>,
  ms = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await delay(everyMs);
  }
}
