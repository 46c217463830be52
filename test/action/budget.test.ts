import { describe, expect, it } from 'vitest';
import { budgetAfterWave, nextWave } from '../../src/action/integrate/next-wave.js';
import { readSettings, type PublishSettings } from '../../src/action/settings.js';
import { totalUsage } from '../../src/engine/report/usage.js';
import { plan, task } from '../engine/helpers.js';
import { reportFixture } from '../report/fixture.js';

const ENV = { GITHUB_REPOSITORY: 'acme/widgets', GITHUB_WORKSPACE: '/work/ws', GITHUB_RUN_ID: '9' };
const read = (inputs: Record<string, string>) => readSettings((name) => inputs[name] ?? '', ENV);

describe('the budget in the Action (between waves)', () => {
  it('is read from the publish inputs, with errors naming the input', () => {
    const publish = read({
      mode: 'publish',
      'execution-id': 'pe-1-1',
      'budget-usd': '4.5',
      'budget-tokens': '900000',
    }) as PublishSettings;
    expect(publish.budget).toEqual({
      usd: 4.5,
      tokens: 900_000,
      durationMs: null,
      marginPercent: null,
    });
    expect(
      (read({ mode: 'publish', 'execution-id': 'pe-1-1' }) as PublishSettings).budget,
    ).toBeNull();
    expect(() => read({ mode: 'publish', 'execution-id': 'pe-1-1', 'budget-usd': 'lots' })).toThrow(
      /input "budget-usd": "lots" is not a positive number/,
    );
  });

  it("passes what is left to the next wave, and starts none once the wave's spending reached it", async () => {
    const state = reportFixture();
    const spent = totalUsage(Object.values(state.tasks))!;
    expect(budgetAfterWave(null, state)).toEqual({ reached: null, left: {} });
    const roomy = budgetAfterWave(
      { usd: 10, tokens: null, durationMs: null, marginPercent: null },
      state,
    );
    expect(roomy.reached).toBeNull();
    expect(Number(roomy.left['budget-usd'])).toBeCloseTo(10 - spent.costUsd!, 6);

    const tight = { usd: 1, tokens: null, durationMs: null, marginPercent: null };
    expect(budgetAfterWave(tight, state).reached).toMatch(/^usd: \$\d+\.\d+ of \$1\.00$/);
    const next = await nextWave({
      forge: null,
      settings: {
        group: null,
        tasks: null,
        appManaged: false,
        dryRun: false,
        executionId: 'pe-1-1',
        planFile: 'MULTI_AGENT_PLAN.md',
        runner: {
          workspace: '/nonexistent',
          owner: 'acme',
          repo: 'widgets',
          apiUrl: 'https://api.github.com',
          serverUrl: 'https://github.com',
          eventName: 'workflow_dispatch',
          eventPath: null,
          sha: null,
          ref: null,
          runId: '9',
          runAttempt: '1',
          outputPath: null,
          summaryPath: null,
          workflowRef: null,
          temp: null,
        },
        budget: tight,
      },
      plan: plan([task('next')]),
      state,
      integrationBranch: 'integration/pe-1-1',
      pushed: true,
      baseBranch: 'main',
      pullRequest: null,
      configuredWorkflow: 'parallel-run.yml',
    });
    expect(next).toEqual({
      dispatched: false,
      tasks: ['next'],
      reason: expect.stringMatching(
        /^the budget is reached \(usd: .* of \$1\.00\): the next wave is not started/,
      ),
    });
  });
});
