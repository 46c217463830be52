import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan: Auth

## Parallel Group 1: Foundation
**Dependencies**: None

- [ ] Task 1.1: Create the user model (Agent: Builder-1, Est: 1h)
  - [ ] model file exists
- [ ] Task 1.2: Create the API skeleton (Agent: Builder-2, Est: 2h)

## Parallel Group 2: Tests
**Dependencies**: Group 1 complete

- [ ] Task 2.1: Write the tests (Agent: Validator-1, Est: 1h)
`;

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('run with a Markdown plan', () => {
  it('parses the default plan, runs group 2 after group 1, and its agents see the earlier work', async () => {
    const agent = 'ls out-*.txt > seen.txt 2>/dev/null; echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';
    const result = await cli(['run', '--agent-command', agent, '--json'], repo.dir);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('warning: MULTI_AGENT_PLAN.md:8:1: task 1.2');
    const doc = JSON.parse(result.stdout) as {
      tasks: Array<{ id: string; branch: string }>;
      integration: { branch: string };
    };
    expect(doc.tasks.map((t) => t.id)).toEqual(['1.1', '1.2', '2.1']);
    expect(doc.tasks[2]!.branch).toBe('agent/validator-1/2-1-write-the-tests');
    // 2.1's work (what it saw) reached the integration branch.
    const integration = doc.integration.branch;
    expect(await repo.git(['show', `${integration}:seen.txt`])).toBe('out-1.1.txt\nout-1.2.txt');

    // The plan's statuses went to the integration branch, not to the checkout: until that branch
    // is merged, group 1 is not complete here, so group 2 alone is refused.
    const group2 = await cli(['run', '--group', '2', '--agent-command', 'true'], repo.dir);
    expect(group2.code).toBe(2);
    expect(group2.stderr).toContain(
      'nothing of group 2 can run: 2.1 waits for 1.1 (pending), 1.2 (pending)',
    );
  });

  it('stops on an invalid plan with the lines of its errors', async () => {
    await repo.write(
      'MULTI_AGENT_PLAN.md',
      PLAN.replace('**Dependencies**: None', '**Dependencies**: Group 2 complete'),
    );
    await repo.commit('cycle');
    const result = await cli(['run', '--agent-command', 'true'], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the plan has \d+ error\(s\)/);
    expect(result.stderr).toMatch(/MULTI_AGENT_PLAN\.md:\d+:\d+: .*cycle/i);
  });
});
