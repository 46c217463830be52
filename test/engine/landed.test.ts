import { describe, expect, it } from 'vitest';
import { landingProblems } from '../../src/engine/schedule/landed.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { initialState } from '../../src/engine/run/layout.js';
import { plan, task } from './helpers.js';

/** A two-task wave whose tasks completed; `integration` as given. */
function wave(integration: Partial<NonNullable<ExecutionState['integration']>> | null) {
  const thePlan = plan([task('1.1'), task('1.2')]);
  const state = initialState({
    executionId: 'pe-1-1',
    plan: thePlan,
    planFile: 'MULTI_AGENT_PLAN.md',
    selection: { group: 'all', tasks: thePlan.tasks },
    layouts: thePlan.tasks.map((t, i) => ({
      taskId: t.id,
      branch: `agent/${t.id}`,
      worktree: `/w/${i}`,
      fileKey: `k${i}`,
      port: 41000,
    })),
    repoRoot: '/repo',
    baseRef: 'main',
    baseSha: 'a'.repeat(40),
    now: new Date('2026-01-01T12:00:00Z'),
    orchestratorPid: 1,
  });
  for (const run of Object.values(state.tasks)) run.status = 'completed';
  state.integration =
    integration === null
      ? null
      : {
          strategy: 'batch-bisect',
          branch: 'integration/pe-1-1',
          baseSha: 'a'.repeat(40),
          headSha: 'b'.repeat(40),
          merged: ['1.1', '1.2'],
          conflicts: [],
          dropped: [],
          predictedConflicts: [],
          testRuns: 1,
          testsPassed: true,
          testCommand: 'npm test',
          ...integration,
        };
  return state;
}

describe('landingProblems', () => {
  it('lands when every task completed and merged and the tests passed', () => {
    expect(landingProblems({ state: wave({}) })).toEqual([]);
    expect(landingProblems({ state: wave({ testsPassed: null }) })).toEqual([]);
  });

  it('names every reason a wave did not land', () => {
    // A completed task that is neither merged nor reported dropped is still not on the branch.
    expect(landingProblems({ state: wave({ merged: ['1.1'] }) })).toEqual(['1.2 not merged']);
    expect(landingProblems({ state: wave({ testsPassed: false }) })).toEqual([
      'the integration tests failed',
    ]);
    expect(landingProblems({ state: wave(null) })).toEqual(['nothing was integrated']);
    const failedJob = new Map([
      ['1.1', 'success'],
      ['1.2', 'failure'],
    ]);
    expect(landingProblems({ state: wave({}), taskConclusions: failedJob })).toEqual([
      '1.2 did not complete',
    ]);
    expect(
      landingProblems({ state: null, taskConclusions: failedJob, stateSource: 'no artifact' }),
    ).toEqual(['1.2 did not complete', 'the run left no execution state (no artifact)']);
    expect(landingProblems({ state: wave({}), runConclusion: 'cancelled' })).toEqual([
      'the workflow run ended with `cancelled`',
    ]);
  });
});
