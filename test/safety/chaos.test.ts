/**
 * Chaos scenarios against the work-safety invariant (issue 9): misbehaving agents, the real CLI
 * as a subprocess, kill -9 of the orchestrator, resume, retries, clean. Each fixed seed below
 * stands for one scenario (its description is in the test name); replay one with
 * `npx tsx bench/chaos.ts --seed S --runs 1 --verbose --keep`.
 *
 * These seeds were chosen because each exercised a way work got lost or went unreported when the
 * suite was written; they must all pass once those defects are fixed. Work still in the kept
 * worktree of a failed task is not counted (the tool keeps that worktree as the agent left it);
 * a scenario that ends with `clean --force` checks it reached a ref before the worktree went.
 */
import { describe, expect, it } from 'vitest';
import {
  describeScenario,
  runScenario,
  scenarioFor,
  summarize,
  type Scenario,
} from '../support/chaos.js';

/** Every agent well behaved: the harness itself must see nothing wrong. */
const CONTROL: Scenario = {
  seed: 0,
  tasks: [
    { id: '1.1', dependsOn: [], behaviours: ['commit', 'dots'] },
    { id: '1.2', dependsOn: [], behaviours: ['uncommitted', 'commit'] },
    { id: '1.3', dependsOn: ['1.1'], behaviours: ['noChange'] },
  ],
  retries: 0,
  kill: null,
  clean: 'clean',
};

const SEEDS = [
  25, // a file written into the user's checkout; reset below the start; kill while collecting
  89, // a rebase left stopped, a new branch, a nested repository, a half-done merge; kill, resume
  112, // a new branch; a half-done merge; kill while validating, resume --retry-failed
  271, // commits on a detached HEAD, exits non-zero, retried; a nested repository
];

async function expectInvariant(scenario: Scenario): Promise<void> {
  const result = await runScenario(scenario);
  const figures = {
    lostCommits: result.report.lostCommits.length,
    lostUncommitted: result.report.lostUncommitted.length,
    falseMerges: result.report.falseMerges.length,
    unreportedCheckoutChanges: result.report.unreportedCheckoutChanges.length,
  };
  expect(figures, summarize(result)).toEqual({
    lostCommits: 0,
    lostUncommitted: 0,
    falseMerges: 0,
    unreportedCheckoutChanges: 0,
  });
}

describe('chaos: nothing lost, nothing falsely merged', () => {
  it('a seed always stands for the same scenario', () => {
    expect(describeScenario(scenarioFor(42))).toBe(describeScenario(scenarioFor(42)));
    expect(describeScenario(scenarioFor(42))).not.toBe(describeScenario(scenarioFor(43)));
  });

  it('control: well-behaved agents, no kill', async () => {
    await expectInvariant(CONTROL);
  });

  it.each(SEEDS.map((seed) => [describeScenario(scenarioFor(seed)), seed]))(
    '%s',
    async (_name, seed) => {
      await expectInvariant(scenarioFor(seed as number));
    },
    90_000,
  );
});
