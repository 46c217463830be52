import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { computeMetrics } from '../../src/engine/report/metrics.js';
import { renderGantt } from '../../src/engine/report/gantt.js';
import { renderReport } from '../../src/engine/report/render.js';
import { executionSummary } from '../../src/engine/run/summary.js';
import { formatSummary } from '../../src/cli/run-output.js';
import type { FinishOutcome } from '../../src/engine/finish/finisher.js';
import { reportFixture } from './fixture.js';

/**
 * The terminal summary, the `--json` document and the report read one state and must tell one
 * story: the same status words, the same durations, the same advice.
 */

const T0 = Date.parse('2026-01-01T10:00:00.000Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/**
 * Three tasks on a constructed timeline, wall 0 → 10 s: a runs 0–6 s, b 1–7 s, c 2–8 s (so 18 s
 * of task time in 10 s). The agents report shorter durations (validation comes after them): the
 * outputs must use the spans the bars show, not these.
 */
function timeline(): ExecutionState {
  const state = structuredClone(reportFixture());
  const [a, b, c] = ['2.1', '2.2', '2.3'].map((id) => state.tasks[id]!);
  delete state.tasks['2.4'];
  delete state.tasks['2.5'];
  state.task_order = ['2.1', '2.2', '2.3'];
  state.started_at = at(0);
  state.finished_at = at(10);
  for (const [task, start] of [
    [a!, 0],
    [b!, 1],
    [c!, 2],
  ] as const) {
    task.started_at = at(start);
    task.finished_at = at(start + 6);
    task.metrics!.duration_ms = 2_200;
    task.depends_on = [];
  }
  return state;
}

describe('one story across terminal, JSON and report', () => {
  it('defines a task duration as its bar and the speed-up as task time ÷ wall time', () => {
    const state = timeline();
    const { efficiency } = computeMetrics(state);
    expect(efficiency.wallMs).toBe(10_000);
    expect(efficiency.sumTaskMs).toBe(18_000);
    expect(efficiency.parallelSpeedup).toBeCloseTo(1.8, 6);
    const report = renderReport(state);
    expect(report).toContain('| 2.1 Implement JWT service | builder-1 | ✅ COMPLETE | 6s |');
    expect(report).toContain('Parallel speed-up: 1.8×');
    expect(report).toContain('8s less than running them one after another');
    expect(report).not.toContain('2.2s');
    const bar = renderGantt(state).find((line) => line.includes('2.1 Implement'));
    expect(bar).toContain('2026-01-01 10:00:00.000, 2026-01-01 10:00:06.000');
    expect(executionSummary(state).tasks.map((t) => t.durationMs)).toEqual([6000, 6000, 6000]);
    expect(formatSummary(state, 'state.json')).toContain('2.1 complete in 6s');
  });

  it('never calls a run that took longer than its tasks a saving', () => {
    // On a real project: three tasks of 1 s and an integration of 2 s read "Parallel speed-up:
    // 0.8× (…; 0ms less than running them one after another)".
    const state = timeline();
    for (const task of Object.values(state.tasks))
      task.finished_at = at((Date.parse(task.started_at!) - T0) / 1000 + 2);
    const { efficiency } = computeMetrics(state);
    expect(efficiency.sumTaskMs).toBe(6_000);
    const report = renderReport(state);
    expect(report).toContain('Parallel speed-up: 0.6×');
    expect(report).not.toContain('less than running them one after another');
    expect(report).toContain(
      "nothing saved: the wall time is 4s more than the tasks' own, spent outside them (integration, the report, waiting)",
    );
  });

  it('never calls a task left out of the integration complete', () => {
    const state = timeline();
    const json = executionSummary(state);
    expect(json.tasks.map((t) => [t.id, t.status, t.outcome])).toEqual([
      ['2.1', 'completed', 'COMPLETE'],
      ['2.2', 'completed', 'DROPPED'],
      ['2.3', 'completed', 'DROPPED'],
    ]);
    const terminal = formatSummary(state, 'state.json');
    expect(terminal).toContain('✖ 2.2 not merged in 6s');
    expect(terminal).toContain('merge conflict with 2.1 in src/auth/index.ts');
    expect(terminal).toContain('✖ 2.3 not merged in 6s');
    expect(terminal).toContain('dropped: broke the integration tests (found by bisection)');
    const report = renderReport(state);
    expect(report).toContain('**Tasks**: 3 (1 complete, 2 not merged)');
    expect(report).toMatch(/🚫 2\.3 Build \/register .* :crit,/);
  });

  it('says the same execution verdict and wall time in the terminal, the JSON and the report', () => {
    const state = timeline();
    const report = renderReport(state);
    expect(report).toContain('- **Status**: ⚠️ PARTIAL');
    expect(report).toContain('- **Duration**: 10s');
    expect(executionSummary(state).outcome).toBe('PARTIAL');
    expect(formatSummary(state, 'state.json')).toContain(
      `Execution ${state.execution_id}: PARTIAL in 10s`,
    );
  });

  it('gives the same recovery advice in the terminal and the report', () => {
    const state = structuredClone(reportFixture());
    const outcome: FinishOutcome = {
      integrationError: null,
      report: null,
      reportError: null,
      cleanup: null,
      kept: [],
    };
    const terminal = formatSummary(state, 'state.json', outcome);
    const report = renderReport(state);
    const retry = `parallel-executor resume ${state.execution_id} --retry-failed`;
    expect(terminal).toContain(`retry 2.4 after a fix:  ${retry}`);
    expect(report).toContain(`Retry 2.4 after a fix: \`${retry}\``);
    expect(report).not.toContain('parallel-executor run --plan');
  });

  it('does not blame "exit code 0" for a task whose validation failed', () => {
    const state = structuredClone(reportFixture());
    const task = state.tasks['2.4']!;
    task.exit_code = 0;
    task.status = 'failed';
    task.reason = 'validation failed: tests';
    const report = renderReport(state);
    expect(report).not.toMatch(/exit code 0|Exit Code\*\*: 0/);
  });

  it('writes no machine path into the report', () => {
    const report = renderReport(reportFixture());
    expect(report).not.toContain('/repo/');
    expect(report).toContain(
      'Log**: `.parallel-executor/executions/exec_20251129_143052/logs/2.4.log`',
    );
  });
});

describe('tokens and cost in the --json document, the report and the dashboard', () => {
  it('gives each task its usage (null when its agent reported none) and the total', () => {
    const state = structuredClone(reportFixture());
    state.tasks['2.1']!.metrics!.cache_read_tokens = 50_000;
    const json = executionSummary(state);
    expect(json.tasks.find((t) => t.id === '2.1')!.usage).toEqual({
      inputTokens: 182_340,
      outputTokens: 21_877,
      cacheReadTokens: 50_000,
      cacheCreationTokens: 0,
      costUsd: 0.8731,
    });
    expect(json.tasks.find((t) => t.id === '2.4')!.usage).toBeNull();
    expect(json.usage).toMatchObject({ inputTokens: 522_323, cacheReadTokens: 50_000 });
    const report = renderReport(state);
    expect(report).toContain(
      '- **Tokens / Cost**: 182,340 in (+50,000 cache read) / 21,877 out tokens · $0.87',
    );
    expect(report).toContain('- **Tokens / Cost**: not reported by the agent');
    expect(report).toContain(
      '- **Tokens / Cost**: 522,323 in (+50,000 cache read) / 64,421 out tokens · $2.44 (reported by 3 task(s))',
    );
  });
});
