import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan: Budget

## Parallel Group 1: Work
**Dependencies**: None

- [ ] Task 1.1: First (Agent: Builder-1, Est: 1h)
- [ ] Task 1.2: Second (Agent: Builder-2, Est: 1h)
- [ ] Task 1.3: Third (Agent: Builder-3, Est: 1h)
- [ ] Task 1.4: Fourth (Agent: Builder-4, Est: 1h)
`;

/** 600 tokens and a cent per task, in the status file, as a command agent reports usage. */
const SPENDER =
  `printf '{"usage": {"input_tokens": 500, "output_tokens": 100, "cost_usd": 0.01}}' > "$PE_STATUS_FILE"; ` +
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

interface Doc {
  status: string;
  budget: { reached: string | null; notStarted: string[]; stopped: string[] } | null;
  tasks: Array<{ id: string; status: string; spent: { tokens: number; costUsd: number } | null }>;
}

describe('run --budget-tokens', () => {
  it('stops a 4-task plan after 2; the plan does not call the rest failed; resume runs them', async () => {
    const first = await cli(
      [
        'run',
        '--agent-command',
        SPENDER,
        '--concurrency',
        '1',
        '--budget-tokens',
        '1000',
        '--write-back',
        'working-tree',
        '--json',
      ],
      repo.dir,
    );
    expect(first.code).toBe(1);
    const doc = JSON.parse(first.stdout) as Doc;
    expect(doc.tasks.map((t) => [t.id, t.status, t.spent])).toEqual([
      ['1.1', 'completed', { tokens: 600, costUsd: 0.01 }],
      ['1.2', 'completed', { tokens: 600, costUsd: 0.01 }],
      ['1.3', 'not_started', null],
      ['1.4', 'not_started', null],
    ]);
    expect(doc.budget).toMatchObject({
      reached: 'tokens: 1,200 of 1,000',
      notStarted: ['1.3', '1.4'],
      stopped: [],
    });
    // The plan: the two done are ticked, the two not started are left as they were.
    const plan = await readFile(join(repo.dir, 'MULTI_AGENT_PLAN.md'), 'utf8');
    expect(plan).toMatch(/- \[x\] Task 1\.1/);
    expect(plan).toMatch(/- \[x\] Task 1\.2/);
    expect(plan).toContain('- [ ] Task 1.3: Third (Agent: Builder-3, Est: 1h)\n');
    expect(plan).toContain('- [ ] Task 1.4: Fourth (Agent: Builder-4, Est: 1h)\n');
    expect(plan).not.toMatch(/FAILED|❌/);

    const resumed = await cli(['resume', '--budget-tokens', '5000', '--json'], repo.dir);
    expect(resumed.code).toBe(0);
    const after = JSON.parse(resumed.stdout) as Doc;
    expect(after.status).toBe('completed');
    expect(after.tasks.map((t) => t.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    expect(after.budget).toMatchObject({ reached: null, notStarted: [] });
  });
});
