import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/cli/run-output.js';
import type { FinishOutcome } from '../../src/engine/finish/finisher.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { reportFixture } from './fixture.js';

/** A finished run that cleaned nothing (something failed): its next steps end with `clean`. */
const notCleaned: FinishOutcome = {
  integrationError: null,
  report: null,
  reportError: null,
  cleanup: null,
  kept: [],
};

function cleanStep(state: ExecutionState): string {
  const lines = formatSummary(state, 'state.json', notCleaned).split('\n');
  const step = lines.find((line) => line.includes('parallel-executor clean'));
  if (step === undefined) throw new Error(`no clean step in:\n${lines.join('\n')}`);
  return step;
}

describe('the clean step of the next steps', () => {
  it('offers to clean up what landed when something landed', () => {
    const state = reportFixture();
    expect(state.integration!.merged).toEqual(['2.1']);
    expect(cleanStep(state)).toMatch(/clean up what landed .*parallel-executor clean \S+$/);
  });

  it('does not speak of what landed when nothing did, and says the branches stay', () => {
    const state = structuredClone(reportFixture());
    state.integration!.merged = [];
    const step = cleanStep(state);
    expect(step).not.toContain('what landed');
    expect(step).toMatch(/completed tasks' worktrees \(nothing landed: their branches stay/);
    expect(step).not.toContain('--force');
  });

  it('offers only a forced clean, said to delete unmerged work, when no task completed', () => {
    const state = structuredClone(reportFixture());
    state.integration = null;
    for (const id of state.task_order) {
      const task = state.tasks[id]!;
      if (task.status === 'completed') task.status = 'failed';
    }
    const step = cleanStep(state);
    expect(step).not.toContain('what landed');
    expect(step).toMatch(
      /deletes its worktrees, unmerged branches and logs\): {2}parallel-executor clean \S+ --force$/,
    );
  });
});
