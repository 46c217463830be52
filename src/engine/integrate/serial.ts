import type { IntegrationSession } from './session.js';
import type { IntegrationTests } from './test-runs.js';

/**
 * The seed's way (`--merge-strategy serial`): merge one branch, run the tests, undo the merge when
 * they fail; N branches cost N test runs. As in batch-bisect, a branch is only blamed when the
 * state before its merge passes: on the first failure the base is tested once, and when it fails
 * too nobody is blamed — the rest is merged without testing and the result says the base is broken.
 *
 * Returns whether the tests pass on the final head.
 */
export async function serial(
  session: IntegrationSession,
  tests: IntegrationTests,
): Promise<boolean> {
  let baseBroken = false;
  // One run per branch, one for the state before the first failure, and a last one at the end.
  session.expectTestRuns(session.candidates.length + 2);
  for (const candidate of session.candidates) {
    const before = session.chain.length;
    if (!(await session.mergeOne(candidate))) continue;
    if (baseBroken) continue; // testing would teach nothing more
    const after = await tests.test(session.idsOf(session.chain.length));
    if (after.passed) continue;
    await session.checkout(before);
    const previous = await tests.test(session.idsOf(before));
    if (!previous.passed) {
      await session.checkout(session.chain.length);
      session.noteBrokenBase(previous);
      baseBroken = true;
      continue;
    }
    await session.truncate(before);
    session.drop(
      candidate,
      `integration tests failed after merging it (test run ${after.run}: ${after.outputFile})`,
      after.outputFile,
    );
  }
  if (baseBroken) return false;
  return (await tests.test(session.idsOf(session.chain.length))).passed;
}
