import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFinisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS } from '../../src/engine/finish/settings.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, runPlan } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

const PLAN = `# Plan

## Parallel Group 1: Work

- [ ] Task 1.1: Write a file (Builder-1, 1h)
`;

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('an integration that does not finish', () => {
  it('does not mark in the plan a task whose work never reached an integration branch', async () => {
    const { plan } = parsePlan(PLAN);
    const finisher = createFinisher({
      // The setup command fails in the integration worktree: integration throws.
      settings: {
        ...DEFAULT_FINISH_SETTINGS,
        setupCommand: 'exit 3',
        report: { dir: 'reports', writeBack: 'working-tree' },
      },
      env: agentEnv(),
    });
    const { state } = await runPlan(repo.dir, plan, 'echo work > work.txt', {
      hooks: finisher.hooks,
    });
    expect(state.tasks['1.1']!.status).toBe('completed');
    expect(finisher.outcome()!.integrationError).toMatch(/setup command failed/);
    // The branch the stopped integration left is named, not hidden behind "no branch was made".
    expect(finisher.outcome()!.integrationError).toMatch(
      /the integration branch integration\/\S+ was left at its last complete merge/,
    );
    expect(state.status).toBe('failed');
    expect(await readFile(join(repo.dir, 'MULTI_AGENT_PLAN.md'), 'utf8')).toBe(PLAN);
  });

  it('lets resume integrate again, as the failure says', async () => {
    const { plan } = parsePlan(PLAN);
    const fixed = join(repo.dir, '.git', 'fixed');
    const finisher = () =>
      createFinisher({
        settings: { ...DEFAULT_FINISH_SETTINGS, setupCommand: `test -e '${fixed}' || exit 3` },
        env: agentEnv(),
      });
    const first = finisher();
    const command = 'echo "$PE_TASK_ID" >> runs.log; echo work > work.txt';
    const { state } = await runPlan(repo.dir, plan, command, { hooks: first.hooks });
    expect(first.outcome()!.integrationError).toMatch(/setup command failed/);
    expect(state.status).toBe('failed');

    await writeFile(fixed, '');
    const second = finisher();
    const resumed = await resumeExecution({
      cwd: repo.dir,
      runner: createCommandRunner({ command, graceMs: 300 }),
      env: agentEnv(),
      settings: FAST,
      hooks: second.hooks,
    });
    expect(resumed.state.execution_id).toBe(state.execution_id);
    expect(second.outcome()!.integrationError).toBeNull();
    expect(resumed.state.integration?.merged).toEqual(['1.1']);
    expect(resumed.state.status).toBe('completed');
    expect(await repo.git(['show', `${resumed.state.integration!.branch}:work.txt`])).toBe('work');
    // The agent's work was kept, not run again.
    expect(await repo.git(['show', `${resumed.state.integration!.branch}:runs.log`])).toBe('1.1');
  });
});
