import type { IntegrationSession } from './session.js';
import type { IntegrationTests, TestRunRecord } from './test-runs.js';

/** The tasks likely to have broken the tests in a failing run (see suspects.ts). */
export type SuspectsOf = (failing: TestRunRecord) => Promise<ReadonlySet<string>>;

/**
 * Batch and bisect, as bors and merge queues do: merge every branch, test once. When the tests
 * fail, binary-search the chain of merges for the shortest failing prefix; its last branch is the
 * culprit (the tests pass without it, fail with it). Drop it and its dependents, re-merge what
 * came after it on the last good prefix, test again; repeat until green.
 *
 * Cost: all green, 1 run; one culprit among N, about 2 + log2(N) runs; each further culprit,
 * about 1 + log2(remaining). Branches that fail only together (A and B pass alone, fail
 * together) are settled the same way: the later one in merge order is dropped, the earlier kept.
 * Before blaming the first branch, the base itself is tested once: if the tests fail there too,
 * nobody is blamed, every cleanly merged branch is kept, and the result says the base is broken.
 *
 * Culprit first: when a failing run points at likely culprits (`suspectsOf`), they are moved to
 * the end of the chain (re-merged there; the tree, and so the known verdict, stays the same) and
 * the first probe is the prefix without them. A right guess finds one culprit in 2 runs in all;
 * a wrong one costs 1 run more than plain bisection.
 *
 * Returns whether the tests pass on the final head.
 */
export async function batchBisect(
  session: IntegrationSession,
  tests: IntegrationTests,
  suspectsOf: SuspectsOf = async () => new Set(),
): Promise<boolean> {
  await session.mergeAll(session.candidates);
  /** Length of the longest prefix known to pass (0, the base, is assumed until tested). */
  let good = 0;
  /** Suspects whose absence did not make the tests pass: not tested first again. */
  const cleared = new Set<string>();
  for (;;) {
    session.bisecting = false;
    session.expectTestRuns(1);
    let head = await tests.test(session.idsOf(session.chain.length));
    if (head.passed) return true;
    // Only the untested base can fail with nothing on top of the known-good prefix.
    if (session.chain.length === good) return baseBroken(session, head);
    const suspects = [...(await suspectsOf(head))].filter((id) => !cleared.has(id));
    const probe = await session.moveLast(good, new Set(suspects));
    if (probe !== null) {
      // Known when the re-merge gave the same tree, as merges of disjoint changes do.
      session.expectTestRuns(1);
      head = await tests.test(session.idsOf(session.chain.length));
      if (head.passed) return true;
    }
    // The search, the test before the culprit, and the whole chain again without it.
    session.bisecting = true;
    session.expectTestRuns(Math.ceil(Math.log2(session.chain.length - good)) + 2);
    const { lo, hi, failing } = await bisect(session, tests, good, head, probe);
    if (probe !== null && hi <= probe) for (const id of suspects) cleared.add(id);
    await session.checkout(lo);
    const before = await tests.test(session.idsOf(lo));
    if (!before.passed) {
      await session.checkout(session.chain.length);
      return baseBroken(session, before);
    }
    const culprit = session.chain[hi - 1]!;
    const after = session.idsOf(lo);
    const onTopOf = after.length > 0 ? `tasks ${after.join(', ')}` : 'the base';
    session.drop(
      culprit.candidate,
      `integration tests fail once it is merged on top of ${onTopOf}, and pass without it ` +
        `(test run ${failing.run}: ${failing.outputFile})`,
      failing.outputFile,
    );
    const rest = await session.truncate(lo);
    await session.mergeAll(rest);
    good = lo;
  }
}

/**
 * Shortest failing prefix in (good, chain length]: prefix `lo` passes (or is the base), prefix
 * `hi` = lo + 1 fails. `first`: the prefix to test first instead of the middle. The worktree is
 * left wherever the search ended.
 */
async function bisect(
  session: IntegrationSession,
  tests: IntegrationTests,
  good: number,
  headRecord: TestRunRecord,
  first: number | null,
): Promise<{ lo: number; hi: number; failing: TestRunRecord }> {
  let lo = good;
  let hi = session.chain.length;
  let failing = headRecord;
  let probe = first;
  while (hi - lo > 1) {
    const mid = probe !== null && probe > lo && probe < hi ? probe : Math.floor((lo + hi) / 2);
    probe = null;
    await session.checkout(mid);
    const record = await tests.test(session.idsOf(mid));
    if (record.passed) {
      lo = mid;
    } else {
      hi = mid;
      failing = record;
    }
  }
  return { lo, hi, failing };
}

function baseBroken(session: IntegrationSession, record: TestRunRecord): false {
  session.noteBrokenBase(record);
  return false;
}
