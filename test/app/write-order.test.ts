import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/app-harness.js';
import { runBurst } from './support/burst.js';

describe('the write queue under a burst of commands', () => {
  const harnesses: Harness[] = [];
  afterEach(() => harnesses.splice(0).forEach((h) => h.close()));

  async function burst(prioritiseWrites: boolean) {
    const h = await startHarness({ prioritiseWrites });
    harnesses.push(h);
    const result = await runBurst(h, 10, 3);
    h.gh.assertDone();
    return { h, result };
  }

  it('dispatches every execution before the writes that may trail (check runs, edits, replies)', async () => {
    const { h, result } = await burst(true);
    // One execution per pull request, each dispatched once.
    expect(result.dispatchDelays).toHaveLength(10);
    expect(new Set(h.github.dispatches.map((d) => d.inputs['pr-number'])).size).toBe(10);

    const kinds = result.writes.map((w) => w.kind);
    const lastDispatch = kinds.lastIndexOf('dispatch');
    const before = kinds.slice(0, lastDispatch);
    // Before the last dispatch: only what starts work (the lock comments) and a few reactions.
    expect(before.filter((k) => k === 'comment')).toHaveLength(10);
    expect(before.every((k) => ['dispatch', 'comment', 'reaction'].includes(k))).toBe(true);
    // Everything else came after: summaries, task check runs, dashboard edits, "busy" replies.
    const after = kinds.slice(lastDispatch + 1);
    expect(after.filter((k) => k === 'check-run').length).toBeGreaterThanOrEqual(10);
    expect(after).toContain('comment edit');
    expect(after.filter((k) => k === 'comment')).toHaveLength(20);
    // The spacing GitHub asks for is kept: one write at a time, a second apart.
    const gaps = result.writes.slice(1).map((w, i) => w.at - result.writes[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
  });

  it('in one first-come queue, the last dispatch waits behind every reaction', async () => {
    const first = await burst(true);
    const firstCome = await burst(false);
    const reactionsBeforeLastDispatch = (writes: Array<{ kind: string }>) => {
      const kinds = writes.map((w) => w.kind);
      return kinds.slice(0, kinds.lastIndexOf('dispatch')).filter((k) => k === 'reaction').length;
    };
    expect(reactionsBeforeLastDispatch(firstCome.result.writes)).toBe(30);
    expect(reactionsBeforeLastDispatch(first.result.writes)).toBeLessThan(10);
    expect(firstCome.result.dispatchDelays.at(-1)!).toBeGreaterThan(
      first.result.dispatchDelays.at(-1)!,
    );
  });
});
