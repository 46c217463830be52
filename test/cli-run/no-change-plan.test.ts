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
