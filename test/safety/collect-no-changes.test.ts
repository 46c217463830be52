import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { runWithLedger } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

const PLAN = `# Plan

## Parallel Group 1: Work

- [ ] Task 1.1: Nothing to do (Builder-1, 1h)
- [ ] Task 1.2: Write a file (Builder-2, 1h)
- [ ] Task 1.3: Build on 1.1 (Builder-3, 1h)
`;

describe('a task whose agent changed nothing', () => {
  it('is a warning, not a completion: the plan does not tick it, the report does not call it complete', async () => {
    repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
    const { plan } = parsePlan(PLAN);
    plan.tasks[2]!.dependsOn = ['1.1'];
    const command =
      'if [ "$PE_TASK_ID" != 1.1 ]; then echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"; fi';
    const run = await runWithLedger(repo, plan, command);
    const { state } = run;
    const noop = state.tasks['1.1']!;
    // Its dependent ran on it all the same.
    expect(state.tasks['1.3']!.depends_on).toEqual(['1.1']);
    expect(state.tasks['1.3']!.status).toBe('completed');
    expect(noop.warnings).toEqual([expect.stringMatching(/the agent changed nothing/)]);
    const report = await readFile(run.finisher.outcome()!.report!.file, 'utf8');
    const block = report.slice(report.indexOf('### 1.1:'), report.indexOf('### 1.2:'));
    expect(block).toContain('**Status**: ⚠️ NO CHANGES');
    expect(block).not.toContain('COMPLETE');
    expect(block).toMatch(/\*\*Warnings\*\*: the agent changed nothing/);
    expect(report).toMatch(/\*\*Warning\*\*: 1\.1 .*the agent changed nothing/);
    const written = await repo.git(['show', `${state.integration!.branch}:MULTI_AGENT_PLAN.md`]);
    expect(written).toContain('- [ ] Task 1.1: Nothing to do (Builder-1, 1h)\n');
    expect(written).toMatch(/- \[x\] Task 1\.2: Write a file \(Builder-2, 1h\) ✅/);
    expect(written).not.toMatch(/Group 1: Work.*COMPLETED/);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
