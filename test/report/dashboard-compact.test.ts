import { describe, expect, it } from 'vitest';
import { renderDashboard } from '../../src/engine/monitor/dashboard.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { reportFixture } from './fixture.js';

const NOW = new Date('2025-11-29T15:00:00.000Z');

/** 36 tasks: 30 finished, 3 running (the last ones in plan order), 3 waiting. */
function bigState(): ExecutionState {
  const state = structuredClone(reportFixture());
  const template = state.tasks['2.1']!;
  state.tasks = {};
  state.task_order = [];
  state.integration = null;
  state.status = 'in_progress';
  state.finished_at = null;
  for (let i = 1; i <= 36; i += 1) {
    const id = `3.${i}`;
    const task = { ...structuredClone(template), task_id: id, task: `Task number ${i}` };
    if (i > 30 && i <= 33) {
      Object.assign(task, { status: 'pending', started_at: null, finished_at: null });
      task.progress_percent = 0;
    }
    if (i > 33) {
      Object.assign(task, { status: 'in_progress', finished_at: null });
      task.progress_percent = 40;
      task.current_step = `step of ${id}`;
    }
    state.tasks[id] = task;
    state.task_order.push(id);
  }
  return state;
}

describe('the dashboard on a short terminal', () => {
  it('shows a 36-task plan on 45 rows: one line per task, running first, finished folded', () => {
    const text = renderDashboard(bigState(), { now: NOW, width: 160, rows: 45 });
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(45);
    const running = lines.findIndex((line) => line.startsWith('▶ 3.34 builder-1 '));
    const waiting = lines.findIndex((line) => line.startsWith('· 3.31 builder-1 '));
    expect(running).toBeGreaterThan(0);
    expect(waiting).toBeGreaterThan(running);
    expect(lines[running]).toContain('40% ');
    expect(lines[running]).toContain('step of 3.34');
    expect(lines).toContain('✔ 30 finished (counts below)');
    expect(text).not.toContain('Agent: builder-1 (3.1 ');
  });

  it('keeps the block per task when it fits', () => {
    const state = bigState();
    const text = renderDashboard(state, { now: NOW, width: 160, rows: 500 });
    expect(text).toContain('Agent: builder-1 (3.1 Task number 1)');
  });
});
