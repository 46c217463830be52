import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan

## Parallel Group 1: Work

- [ ] 1.1: Redo the slow work (Builder-1, 1h)
  - [ ] slow.txt holds "slow"
`;

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN, 'slow.txt': 'slow\n' } });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('the plan after a run whose task changed nothing', () => {
  // On a real project, a task run again wrote the file as it already was: the plan kept it open
  // (by design) and the output said "Plan: the plan on integration/… already says so".
  it('says the task stays open because it changed nothing, on the branch and in the working tree', async () => {
    const agent = 'echo slow > slow.txt';
    const onBranch = await cli(['run', '--agent-command', agent], repo.dir);
    expect(onBranch.code).toBe(0);
    expect(onBranch.stdout).toMatch(
      /Plan: the plan on integration\/\S+ is unchanged: 1\.1 changed nothing, so stays open there/,
    );
    expect(onBranch.stdout).not.toContain('already says so');

    const inTree = await cli(
      ['run', '--agent-command', agent, '--write-back', 'working-tree'],
      repo.dir,
    );
    expect(inTree.code).toBe(0);
    expect(inTree.stdout).toContain(
      'MULTI_AGENT_PLAN.md is unchanged: 1.1 changed nothing, so stays open there',
    );
  });
});

describe('the plan after a run where no task was ready to merge', () => {
  // Every task failed: the output said "the integration did not finish (see above)" under
  // "Integration: nothing validated to merge", of an integration that never started.
  it('says there was no integration branch to write it on, not that an integration failed', async () => {
    const result = await cli(['run', '--agent-command', 'exit 3'], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Integration: nothing validated to merge.');
    expect(result.stdout).toContain(
      'Plan: no task was ready to merge, so there is no integration branch to commit the plan on',
    );
    expect(result.stdout).not.toContain('did not finish');
  });
});
