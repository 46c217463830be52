import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executionSummary } from '../../src/engine/run/summary.js';
import { useClaudeFixture } from '../support/claude-fixture.js';
import { plan, runPlan, task } from './helpers.js';

const claude = useClaudeFixture();

describe('a dollar budget with the real Claude Code CLI (scripted model)', () => {
  it('is reached by the first task: the second is not started, and the model is asked nothing more', async () => {
    // Only the first task's two turns are scripted: a second agent would find no turn left.
    const model = await claude.startModel([
      (request) => ({
        blocks: [
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: join(request.workingDirectory ?? '', 'one.txt'), content: 'one\n' },
          },
        ],
        usage: { input_tokens: 20_000, output_tokens: 400 },
      }),
      {
        blocks: [{ type: 'text', text: 'Done.' }],
        usage: { input_tokens: 20_500, output_tokens: 10 },
      },
    ]);
    const env = claude.env(model.url);
    const { state } = await runPlan(claude.repo.dir, plan([task('1'), task('2')]), '', {
      runner: claude.runner(env, ['Read', 'Write', 'Edit']),
      env,
      settings: {
        concurrency: 1,
        budget: { usd: 0.01, tokens: null, durationMs: null, marginPercent: null },
      },
    });

    const first = state.tasks['1']!;
    expect(first.status).toBe('completed');
    expect(await claude.repo.git(['show', `${first.branch}:one.txt`])).toBe('one');
    // What Claude Code said the task cost is what the budget counted.
    const cost = first.metrics!.cost_usd!;
    expect(cost).toBeGreaterThan(0.01);
    expect(first.usage?.cost_usd).toBe(cost);
    expect(state.tasks['2']!.status).toBe('not_started');
    expect(state.tasks['2']!.reason).toMatch(/budget was reached \(usd: \$0\.\d+ of \$0\.01\)/);
    const summary = executionSummary(state);
    // Tokens of every kind, from the task's usage.
    expect(summary.tasks[0]!.spent).toEqual({ tokens: 40_910, costUsd: cost });
    expect(summary.budget).toMatchObject({ notStarted: ['2'], stopped: [], spent: { usd: cost } });
    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
  });
});
