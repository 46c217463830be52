import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, readAllPages } from '../../src/forge/github/context.js';

/** A listing of `count` numbers served in pages; records which pages were asked for. */
function listing(count: number, withTotal: boolean) {
  const asked: number[] = [];
  const fetchPage = async (page: number) => {
    asked.push(page);
    const start = (page - 1) * PAGE_SIZE;
    const items = Array.from(
      { length: Math.max(0, Math.min(PAGE_SIZE, count - start)) },
      (_, i) => start + i,
    );
    return withTotal ? { items, total: count } : { items };
  };
  return { asked, fetchPage };
}

describe('readAllPages', () => {
  it.each([
    [0, true, [1]],
    [5, true, [1]],
    [PAGE_SIZE, true, [1]],
    [PAGE_SIZE + 1, true, [1, 2]],
    [2 * PAGE_SIZE, true, [1, 2]],
    // Without a total, a full page can only be known to be the last by asking for the next.
    [PAGE_SIZE, false, [1, 2]],
    [PAGE_SIZE + 1, false, [1, 2]],
  ])('reads %i items (total given: %s) asking for pages %j', async (count, withTotal, pages) => {
    const { asked, fetchPage } = listing(count, withTotal);
    const items = await readAllPages(fetchPage);
    expect(items).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(asked).toEqual(pages);
  });
});
