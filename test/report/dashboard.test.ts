import { describe, expect, it } from 'vitest';
import {
  displayWidth,
  progressBar,
  renderDashboard,
  renderDashboardMarkdown,
} from '../../src/engine/monitor/dashboard.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { reportFixture } from './fixture.js';

const NOW = new Date('2025-11-29T14:53:59.000Z');

/** The fixture as it looked mid-run: 2.1 done, 2.2 and 2.4 running, 2.3 just started, 2.5 waiting. */
function runningState(): ExecutionState {
  const state = structuredClone(reportFixture());
  state.status = 'in_progress';
  state.finished_at = null;
  state.integration = null;
  const edit = (id: string, change: Partial<ExecutionState['tasks'][string]>) => {
    const task = state.tasks[id];
    if (task === undefined) throw new Error(`fixture has no task ${id}`);
    Object.assign(task, change);
  };
  edit('2.2', {
    status: 'in_progress',
    finished_at: null,
    progress_percent: 45,
    current_step: 'Writing unit tests for the repository',
    metrics: null,
    validation: null,
  });
  edit('2.3', {
    status: 'preparing',
    started_at: '2025-11-29T14:52:41.000Z',
    finished_at: null,
    progress_percent: 0,
    metrics: null,
    validation: null,
  });
  edit('2.4', {
    status: 'validating',
    finished_at: null,
    progress_percent: 72,
    current_step: null,
    reason: null,
    exit_code: null,
    metrics: null,
  });
  edit('2.5', { status: 'pending', reason: null });
  return state;
}

// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[\d+m/g;

describe('renderDashboard', () => {
  it('draws the seed picture: a block per task, bars, counts and runtime', () => {
    const text = renderDashboard(runningState(), { now: NOW });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Parallel Execution: Auth Platform — Group 2 (Started: 14:30:52 UTC)');
    expect(text).toContain(
      'Agent: builder-2 (2.2 Create User model and repository)\nStatus: AGENT WORKING (attempt 2) | Progress: ███████░░░░░░░░░  45% | 00:22:41\nCurrent: Writing unit tests for the repository',
    );
    expect(text).toContain('Status: COMPLETED | Progress: ████████████████ 100% | 00:21:25');
    expect(text).toContain(
      'Status: VALIDATING | Progress: ████████████░░░░  72% | 00:22:39\nCurrent: agent finished; running the validation checks',
    );
    expect(text).toContain(
      'Status: PENDING | Progress: ░░░░░░░░░░░░░░░░   0% | --:--:--\nCurrent: waiting for 2.4',
    );
    expect(lines.at(-2)).toBe('Completed: 1/5 | Failed: 0/5 | Runtime: 00:23:07');
    // Tokens and cost of the tasks that reported them, summed, under the counts.
    expect(lines.at(-1)).toBe('Usage: 182,340 in / 21,877 out tokens · $0.87');
  });

  it('never draws a line wider than the terminal, even with wide characters', () => {
    const state = runningState();
    const task = state.tasks['2.2'];
    if (task === undefined) throw new Error('fixture changed');
    task.task = '用户模型和存储库 🚀🚀🚀 with a very long title that goes on and on';
    for (const width of [20, 40, 57]) {
      const text = renderDashboard(state, { now: NOW, width, color: true });
      for (const line of text.trimEnd().split('\n')) {
        expect(displayWidth(line.replace(SGR, ''))).toBeLessThanOrEqual(width);
      }
      expect(text).toContain('…');
    }
  });

  it('writes only its own colour codes, never an escape sequence from a title', () => {
    const state = runningState();
    const task = state.tasks['2.1'];
    if (task === undefined) throw new Error('fixture changed');
    task.task = 'evil \u001b[2J\u001b]0;pwned\u0007 title\nsecond line';
    const plain = renderDashboard(state, { now: NOW });
    expect(plain).not.toContain('\u001b');
    expect(plain).toContain('Agent: builder-1 (2.1 evil [2J]0;pwned title second line)');
    const colored = renderDashboard(state, { now: NOW, color: true });
    expect(colored.replace(SGR, '')).not.toContain('\u001b');
    expect(colored).toContain('\u001b[32mCOMPLETED\u001b[0m');
  });

  it('shows reasons for failed and skipped tasks once finished', () => {
    const text = renderDashboard(reportFixture(), { now: NOW });
    expect(text).toContain(
      'Status: FAILED | Progress: ██████████░░░░░░  60% | 00:20:00\nReason: timed out after 20m',
    );
    expect(text).toContain(
      'Status: SKIPPED | Progress: ░░░░░░░░░░░░░░░░   0% | --:--:--\nReason: dependency 2.4 failed',
    );
    // 2.2 (conflict) and 2.3 (dropped by bisection) finished but did not land: not "completed".
    expect(text).toContain(
      'Status: NOT MERGED | Progress: ████████████████ 100% | 00:15:49\nNot merged: broke the integration tests (found by bisection)',
    );
    expect(text.trimEnd().split('\n').at(-2)).toBe(
      'Completed: 1/5 | Failed: 1/5 | Not merged: 2 | Skipped: 1 | Runtime: 00:49:18',
    );
  });

  it('fills the bar in proportion', () => {
    expect(progressBar(0)).toBe('░'.repeat(16));
    expect(progressBar(50)).toBe(`${'█'.repeat(8)}${'░'.repeat(8)}`);
    expect(progressBar(100)).toBe('█'.repeat(16));
    expect(progressBar(250)).toBe('█'.repeat(16));
  });
});

describe('renderDashboardMarkdown', () => {
  it('is a table with one row per task and a progress column', () => {
    const text = renderDashboardMarkdown(runningState(), { now: NOW });
    const rows = text.split('\n').filter((line) => line.startsWith('| '));
    expect(rows).toHaveLength(2 + 5);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
    expect(text).toContain(
      '| 2.2 Create User model and repository | builder-2 | 🔄 agent working (attempt 2) | `███████░░░░░░░░░` 45% | 22min 41s | Writing unit tests for the repository |',
    );
    expect(text).toContain(
      '**Completed** 1/5 · **Failed** 0/5 · **Usage** 182,340 in / 21,877 out tokens · $0.87 · **Runtime** 23min 7s',
    );
    expect(text.startsWith('### 🔄 Parallel execution running: Auth Platform — Group 2')).toBe(
      true,
    );
  });

  it('says when a running task started when it does not know the time', () => {
    const text = renderDashboardMarkdown(runningState());
    expect(text).toContain('since 14:31:18 UTC');
    expect(text).toContain('**Runtime** running');
  });

  it('escapes a hostile title', () => {
    const state = runningState();
    const task = state.tasks['2.1'];
    if (task === undefined) throw new Error('fixture changed');
    task.task = 'a | b\n| c | d |';
    const rows = renderDashboardMarkdown(state, { now: NOW })
      .split('\n')
      .filter((line) => line.startsWith('| '));
    expect(rows).toHaveLength(7);
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
  });
});
