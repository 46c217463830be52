import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLiveView } from '../../src/cli/live-view.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, task } from '../engine/helpers.js';
import { planState } from './helpers.js';

function state(): ExecutionState {
  const thePlan = plan([task('1.1', { title: 'JWT service' }), task('1.2')]);
  return planState(thePlan);
}

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { out, text: () => text };
}

describe('live view', () => {
  it('redraws the dashboard in place on a terminal, soon after a change', async () => {
    const { out, text } = capture();
    const view = createLiveView(out, { tty: true, color: false, columns: 100, rows: 50 });
    const s = state();
    s.tasks['1.1']!.status = 'in_progress';
    s.tasks['1.1']!.progress_percent = 45;
    s.tasks['1.1']!.current_step = 'Writing unit tests';
    view.onEvent(
      { type: 'task-progress', taskId: '1.1', percent: 45, step: 'Writing unit tests' },
      s,
    );
    await delay(300);
    const first = text();
    expect(first).toContain('45%');
    expect(first).toContain('Writing unit tests');
    s.tasks['1.1']!.progress_percent = 72;
    view.onEvent({ type: 'task-progress', taskId: '1.1', percent: 72, step: null }, s);
    await delay(300);
    const lines = first.split('\n').length - 1;
    // Back up over the previous picture and clear it, then draw the new one.
    expect(text().slice(first.length)).toMatch(new RegExp(`^\\x1b\\[${lines}F\\x1b\\[J`));
    expect(text().slice(first.length)).toContain('72%');
    view.close(s);
  });

  it('prints one line per event elsewhere', () => {
    const { out, text } = capture();
    const view = createLiveView(out, {
      tty: false,
      color: false,
      now: () => new Date('2025-01-01T10:00:05Z'),
    });
    const s = state();
    view.onEvent(
      { type: 'task-status', taskId: '1.2', status: 'failed', reason: 'agent exited with code 2' },
      s,
    );
    view.onEvent({ type: 'task-output', taskId: '1.2', line: 'noise' }, s);
    view.close(s);
    expect(text()).toBe('10:00:05 1.2 (Builder-1.2) failed — agent exited with code 2\n');
  });
});
