import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan: Auth

## Parallel Group 1: Foundation
**Dependencies**: None

- [ ] Task 1.1: Create the user model (Agent: Builder-1, Est: 1h)
  - [ ] model file exists
- [ ] Task 1.2: Create the API skeleton (Agent: Builder-2, Est: 2h)
  - [ ] skeleton exists
`;

/** 1.1 ticks its own box in the plan; 1.2 fails until $FIXED exists. */
const AGENT = [
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"',
  'if [ "$PE_TASK_ID" = 1.1 ]; then sed -i "s/- \\[ \\] Task 1.1/- [x] Task 1.1/" MULTI_AGENT_PLAN.md; fi',
  'if [ "$PE_TASK_ID" = 1.2 ] && [ ! -e "$FIXED" ]; then exit 1; fi',
].join('; ');

const EDIT = /task 1\.1 edited MULTI_AGENT_PLAN\.md on (integration\/\S+) \(/g;

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

async function state(): Promise<ExecutionState> {
  const dir = join(repo.dir, '.parallel-executor', 'executions');
  const [id] = await readdir(dir);
  return JSON.parse(
    await readFile(join(dir, id!, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
  ) as ExecutionState;
}

describe('an agent that edits the plan file', () => {
  it('is warned about once per run, on its task, and in report.md', async () => {
    const env = { FIXED: join(repo.dir, '.git', 'fixed') };
    const run = await cli(['run', '--agent-command', AGENT], repo.dir, env);
    expect(run.code).toBe(1);
    const said = [...`${run.stdout}${run.stderr}`.matchAll(EDIT)];
    expect(said).toHaveLength(1);
    const first = await state();
    const branch = first.integration!.branch;
    expect(said[0]![1]).toBe(branch);
    expect(first.tasks['1.1']!.warnings).toHaveLength(1);
    const report = await readFile(first.report_path!, 'utf8');
    // Markdown-escaped there, underscores and all.
    const escaped = (text: string) => text.replace(/_/g, '\\_');
    expect(report).toContain(escaped(`task 1.1 edited MULTI_AGENT_PLAN.md on ${branch} (`));

    // Written back again on another integration branch: the warning names that one, still once.
    await repo.write('.git/fixed', '');
    const resumed = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(resumed.code).toBe(0);
    const again = [...`${resumed.stdout}${resumed.stderr}`.matchAll(EDIT)];
    const last = await state();
    expect(last.integration!.branch).not.toBe(branch);
    expect(again.map((match) => match[1])).toEqual([last.integration!.branch]);
    expect(last.tasks['1.1']!.warnings).toEqual([
      expect.stringContaining(`edited MULTI_AGENT_PLAN.md on ${last.integration!.branch} (`),
    ]);
  });
});
