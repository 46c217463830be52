import { describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { renderDashboard, renderDashboardMarkdown } from '../../src/engine/monitor/dashboard.js';
import { recoverySteps } from '../../src/engine/report/recovery.js';
import { renderReport } from '../../src/engine/report/render.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { executionSummary } from '../../src/engine/run/summary.js';
import { integrationPullRequest } from '../../src/github-run/integration-pull-request.js';
import { agentEnv, FAST, plan, runPlan, task } from './helpers.js';
import { useRepoAndScratch } from './repo-fixture.js';

const fx = useRepoAndScratch();

/** Reports 600 tokens ($0.01) in its status file, as a command agent may, then does its work. */
const SPENDER =
  'echo "$PE_TASK_ID" >> "$RUNS"; ' +
  `printf '{"progress_percent": 50, "usage": {"input_tokens": 500, "output_tokens": 100, "cost_usd": 0.01}}' > "$PE_STATUS_FILE"; ` +
  'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

const tokenBudget = (tokens: number) => ({
  usd: null,
  tokens,
  durationMs: null,
  marginPercent: null,
});

describe('a budget for the whole run', () => {
  it('starts no task once a token budget is reached; the rest are not started, then resumable', async () => {
    const env = agentEnv({ RUNS: fx.box.file('runs') });
    const thePlan = plan([task('a'), task('b'), task('c'), task('d')]);
    const settings = { concurrency: 1, budget: tokenBudget(1000) };
    const first = await runPlan(fx.repo.dir, thePlan, SPENDER, { env, settings });

    // a spent 600 (under 1,000: b starts), b brought it to 1,200: c and d never start.
    expect((await fx.box.read('runs')).trim().split('\n')).toEqual(['a', 'b']);
    const { tasks } = first.state;
    expect(tasks['a']!.status).toBe('completed');
    expect(tasks['b']!.status).toBe('completed');
    for (const id of ['c', 'd']) {
      expect(tasks[id]!.status).toBe('not_started');
      expect(tasks[id]!.reason).toMatch(/budget was reached \(tokens: 1,200 of 1,000\)/);
      expect(tasks[id]!.reason).toMatch(/parallel-executor resume/);
    }
    expect(first.state.failed_tasks).toEqual([]);
    expect(first.state.budget).toMatchObject({
      spent: { tokens: 1200, usd: 0.02 },
      reached: 'tokens: 1,200 of 1,000',
      stopped: [],
      not_started: ['c', 'd'],
    });
    expect(tasks['a']!.usage).toEqual({
      input_tokens: 500,
      output_tokens: 100,
      cache_read_tokens: 0,
      cache_creation_tokens: 0,
      cost_usd: 0.01,
    });
    expect(tasks['c']!.usage ?? null).toBeNull();
    expect(first.events).toContainEqual({
      type: 'warning',
      taskId: null,
      message: 'budget reached (tokens: 1,200 of 1,000): no new task starts',
    });

    // --json: each task's spending, what was not started.
    const summary = executionSummary(first.state);
    expect(summary.budget).toMatchObject({
      limits: { tokens: 1000, usd: null },
      notStarted: ['c', 'd'],
      stopped: [],
    });
    expect(summary.tasks.map((t) => [t.id, t.outcome, t.spent])).toEqual([
      ['a', 'COMPLETE', { tokens: 600, costUsd: 0.01 }],
      ['b', 'COMPLETE', { tokens: 600, costUsd: 0.01 }],
      ['c', 'NOT_STARTED', null],
      ['d', 'NOT_STARTED', null],
    ]);
    // The report.
    const report = renderReport(first.state);
    expect(report).toContain('## Budget');
    expect(report).toContain('- **Spent / budget**: 1,200 / 1,000 tokens (running agents finish)');
    expect(report).toContain('- **Not started**: c, d');
    expect(report).toContain('⏸️ NOT STARTED');
    expect(recoverySteps(first.state)).toEqual([
      {
        what: 'run c, d (held back by the budget)',
        tasks: ['c', 'd'],
        command: `parallel-executor resume ${first.state.execution_id}`,
      },
    ]);
    // The dashboard.
    const dashboard = renderDashboard(first.state, { now: new Date(), width: 120 });
    expect(dashboard).toContain('Budget: 1,200 / 1,000 tokens (reached: no new task starts)');
    expect(dashboard).toContain('Not started: 2');
    const comment = renderDashboardMarkdown(first.state);
    expect(comment).toContain('**Not started** 2');
    expect(comment).toContain('**Budget** 1,200 / 1,000 tokens');

    // Resume gets a fresh budget of the same size: c (600) and d (1,200 after it) run.
    const second = await resumeExecution({
      cwd: fx.repo.dir,
      runner: createCommandRunner({ command: SPENDER, graceMs: 300 }),
      env,
      settings: { ...FAST, ...settings },
    });
    expect((await fx.box.read('runs')).trim().split('\n')).toEqual(['a', 'b', 'c', 'd']);
    expect(second.state.status).toBe('completed');
    expect(second.state.budget).toMatchObject({ spent: { tokens: 1200 }, not_started: [] });
  });

  it("counts a retried task's earlier attempts live: its second attempt is stopped at once", async () => {
    // Each attempt reports 600 tokens ($0.01) as it starts; the first then fails, the second
    // would work for 30 s. 600 alone is under the 1,000 budget; with the first attempt's, over.
    const command =
      'echo "$PE_TASK_ID" >> "$RUNS"; ' +
      `printf '{"usage": {"input_tokens": 500, "output_tokens": 100, "cost_usd": 0.01}}' > "$PE_STATUS_FILE"; ` +
      'if [ "$(wc -l < "$RUNS")" -eq 1 ]; then exit 1; fi; echo work > out.txt; sleep 30';
    const started = Date.now();
    const result = await runPlan(fx.repo.dir, plan([task('a')]), command, {
      env: agentEnv({ RUNS: fx.box.file('runs') }),
      settings: { retries: 1, budget: { ...tokenBudget(1000), marginPercent: 0 } },
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    const a = result.state.tasks['a']!;
    expect(a.attempts).toBe(2);
    expect(a.status).toBe('cancelled');
    expect(a.reason).toMatch(/^stopped by the budget: tokens: 1,200 of 1,000/);
    // One total over both attempts: the task's usage, the budget, --json and the report agree.
    expect(a.usage).toMatchObject({ input_tokens: 1000, output_tokens: 200, cost_usd: 0.02 });
    expect(result.state.budget).toMatchObject({
      spent: { tokens: 1200, usd: 0.02 },
      stopped: ['a'],
    });
    expect(executionSummary(result.state).tasks[0]!.spent).toEqual({ tokens: 1200, costUsd: 0.02 });
    const report = renderReport(result.state);
    expect(report).toContain('- **Tokens / Cost**: 1,000 in / 200 out tokens · $0.02');
    expect(report).toContain('- **Stopped by the budget**: a (1,200 tokens, $0.02)');
  });

  it('stops a running agent past a duration budget plus its margin, keeping its work', async () => {
    // b is slow; a is quick. 1 s budget, 50% margin: b is stopped about 1.5 s in.
    const slow =
      'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt"; ' +
      'if [ "$PE_TASK_ID" = b ]; then echo started > "$MARK"; sleep 30; fi';
    const env = agentEnv({ MARK: fx.box.file('mark') });
    const started = Date.now();
    const result = await runPlan(
      fx.repo.dir,
      plan([task('a'), task('b'), task('c', { dependsOn: ['b'] })]),
      slow,
      {
        env,
        settings: { budget: { usd: null, tokens: null, durationMs: 1000, marginPercent: 50 } },
      },
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await fx.box.read('mark')).toBe('started\n');
    const b = result.state.tasks['b']!;
    expect(b.status).toBe('cancelled');
    expect(b.reason).toMatch(
      /^stopped by the budget: duration: .* of 1s, more than 50% over; its work is kept at refs\/parallel-executor\//,
    );
    // Its uncommitted file is under the kept ref.
    const ref = b.kept_refs!.at(-1)!.ref;
    expect(await fx.repo.git(['show', `${ref}:out-b.txt`])).toBe('work of b');
    expect(result.state.tasks['a']!.status).toBe('completed');
    // c waited for b: not started (not skipped, not failed).
    expect(result.state.tasks['c']!.status).toBe('not_started');
    expect(result.state.budget).toMatchObject({ stopped: ['b'], not_started: ['c'] });
    expect(result.state.budget!.reached).toMatch(/^duration: /);
    expect(renderReport(result.state)).toContain('- **Stopped by the budget**: b');

    // Resume collects what b left rather than running it again (here without a budget).
    const resumed = await resumeExecution({
      cwd: fx.repo.dir,
      runner: createCommandRunner({ command: slow, graceMs: 300 }),
      env,
      settings: { ...FAST, budget: null },
    });
    expect(resumed.state.tasks['b']!.status).toBe('completed');
    expect(resumed.state.tasks['c']!.status).toBe('completed');
    expect(resumed.state.tasks['b']!.warnings?.join(' ')).toMatch(
      /collected and validated as it is/,
    );
  });

  it('without a margin, lets running agents finish past the budget', async () => {
    const command = 'sleep 1.5; echo done > "out-$PE_TASK_ID.txt"';
    const result = await runPlan(
      fx.repo.dir,
      plan([task('a'), task('b', { dependsOn: ['a'] })]),
      command,
      {
        settings: { budget: { usd: null, tokens: null, durationMs: 500, marginPercent: null } },
      },
    );
    expect(result.state.tasks['a']!.status).toBe('completed');
    expect(result.state.tasks['b']!.status).toBe('not_started');
    expect(result.state.budget!.stopped).toEqual([]);
    const pr = integrationPullRequest({
      state: { ...result.state, integration: integrationOf(['a']) },
      base: 'main',
      planLabel: 'plan',
      group: 'all',
      pullRequest: null,
      runUrl: null,
    });
    expect(pr.body).toContain('**Budget**');
    expect(pr.body).toContain('- **Not started**: b');
  });
});

function integrationOf(merged: string[]) {
  return {
    branch: 'integration/x',
    strategy: 'batch-bisect' as const,
    merged,
    conflicts: [],
    dropped: [],
    testRuns: 0,
    testsPassed: null,
    testCommand: null,
    headSha: '0'.repeat(40),
    baseSha: '0'.repeat(40),
    predictedConflicts: [],
  };
}
