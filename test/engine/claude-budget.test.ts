import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClaudeCodeRunner } from '../../src/engine/agents/claude-code.js';
import { executionSummary } from '../../src/engine/run/summary.js';
import { startScriptedModel, type ScriptedModel } from '../support/scripted-model.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, runPlan, task } from './helpers.js';

const CLAUDE = resolve(import.meta.dirname, '../../node_modules/.bin/claude');

let repo: TempRepo;
let home: string;
let model: ScriptedModel | null = null;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': '# app\n' } });
  home = await mkdtemp(join(tmpdir(), 'pe-claude-home-'));
});

afterEach(async () => {
  await model?.close();
  model = null;
  await repo.cleanup();
  await rm(home, { recursive: true, force: true });
});

describe('a dollar budget with the real Claude Code CLI (scripted model)', () => {
  it('is reached by the first task: the second is not started, and the model is asked nothing more', async () => {
    // Only the first task's two turns are scripted: a second agent would find no turn left.
    model = await startScriptedModel([
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
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      ANTHROPIC_BASE_URL: model.url,
      ANTHROPIC_API_KEY: 'sk-test-scripted',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    };
    const { state } = await runPlan(repo.dir, plan([task('1'), task('2')]), '', {
      runner: createClaudeCodeRunner({
        binary: CLAUDE,
        allowedTools: ['Read', 'Write', 'Edit'],
        env,
        cwd: repo.dir,
        graceMs: 500,
      }),
      env,
      settings: {
        concurrency: 1,
        budget: { usd: 0.01, tokens: null, durationMs: null, marginPercent: null },
      },
    });

    const first = state.tasks['1']!;
    expect(first.status).toBe('completed');
    expect(await repo.git(['show', `${first.branch}:one.txt`])).toBe('one');
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
