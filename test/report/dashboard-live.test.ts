import { describe, expect, it } from 'vitest';
import { displayWidth, renderDashboard } from '../../src/engine/monitor/dashboard.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { reportFixture } from './fixture.js';

const NOW = new Date('2025-11-29T14:53:59.000Z');

function running(): ExecutionState {
  const state = structuredClone(reportFixture());
  state.status = 'in_progress';
  state.finished_at = null;
  state.integration = null;
  for (const id of state.task_order) {
    Object.assign(state.tasks[id]!, {
      status: 'pending',
      finished_at: null,
      metrics: null,
      validation: null,
      reason: null,
      attempts: 0,
      progress_percent: 0,
      current_step: null,
    });
  }
  return state;
}

describe('the live dashboard', () => {
  it('measures emoji and wide characters by the columns a terminal gives them', () => {
    expect(displayWidth('✅ ⏳ 🚀')).toBe(8);
    expect(displayWidth('用户模型')).toBe(8);
    expect(displayWidth('👩‍💻 e\u0301')).toBe(4);
    const state = running();
    state.tasks['2.1']!.task = `✅ ⏳ 🚀 ${'用'.repeat(50)}`;
    const text = renderDashboard(state, { now: NOW, width: 80 });
    const line = text.split('\n').find((l) => l.startsWith('Agent: builder-1 (2.1'))!;
    expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(displayWidth(line)).toBeGreaterThanOrEqual(78);
    expect(line.endsWith('…')).toBe(true);
  });

  it('names the phase plainly and says which attempt is running', () => {
    const state = running();
    Object.assign(state.tasks['2.1']!, {
      status: 'in_progress',
      attempts: 2,
      progress_percent: 0,
      current_step: 'Reading the code',
    });
    Object.assign(state.tasks['2.2']!, {
      status: 'validating',
      attempts: 1,
      progress_percent: 100,
      current_step: 'done',
    });
    const text = renderDashboard(state, { now: NOW });
    expect(text).toContain(
      'Status: AGENT WORKING (attempt 2) | Progress: ░░░░░░░░░░░░░░░░   0% | 00:22:43\nCurrent: Reading the code',
    );
    expect(text).toContain('Status: VALIDATING | Progress: ████████████████ 100%');
    expect(text).toContain('Current: agent finished; running the validation checks');
    expect(text).not.toContain('Current: done');
  });

  it('shows the tokens and cost a running agent has reported so far, in the task and the total', () => {
    const state = running();
    Object.assign(state.tasks['2.1']!, {
      status: 'in_progress',
      attempts: 1,
      usage: {
        input_tokens: 1200,
        output_tokens: 340,
        cache_read_tokens: 5000,
        cache_creation_tokens: 0,
        cost_usd: null,
      },
    });
    Object.assign(state.tasks['2.2']!, {
      status: 'in_progress',
      attempts: 1,
      usage: {
        input_tokens: 800,
        output_tokens: 60,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost_usd: 0.05,
      },
    });
    const text = renderDashboard(state, { now: NOW });
    expect(text).toContain('Usage: 1,200 in (+5,000 cache read) / 340 out tokens\n');
    expect(text).toContain('Usage: 800 in / 60 out tokens · $0.05\n');
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      'Usage: 2,000 in (+5,000 cache read) / 400 out tokens · $0.05',
    );
    // One line per task when short of rows: the running line carries its tokens too.
    const compact = renderDashboard(state, { now: NOW, rows: 12, width: 160 });
    expect(compact).toMatch(/▶ 2\.1 builder-1 AGENT WORKING .* 340 out tokens /);
    expect(compact).toMatch(/▶ 2\.2 builder-2 AGENT WORKING .* 60 out tokens \$0\.05 /);
  });

  it('has an integration row while the integration runs, then says what it did', () => {
    const state = running();
    for (const id of state.task_order) state.tasks[id]!.status = 'completed';
    state.integration_progress = {
      phase: 'bisecting',
      total: 5,
      merged: 3,
      conflicts: 1,
      dropped: 1,
      testRun: 3,
      testRunsAtMost: 5,
      taskId: '2.3',
    };
    const text = renderDashboard(state, { now: NOW, width: 120 });
    expect(text).toContain(
      '\nIntegration: bisecting a test failure: test run 3 of at most 5 · merged 3/5 · 1 conflict\n',
    );
    const compact = renderDashboard(state, { now: NOW, rows: 10, width: 160 });
    expect(compact).toContain('Integration: bisecting a test failure: test run 3 of at most 5');
    // The integration row counts when deciding what fits: the picture stays within the rows.
    expect(compact.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    const done = reportFixture();
    const finished = renderDashboard(done, { now: NOW });
    expect(finished).toMatch(
      /\nIntegration: \S+: merged \d+, \d+ not merged; tests (pass|FAIL) \(\d+ runs?\)\n/,
    );
  });
});
