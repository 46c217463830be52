import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Terminal } from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { createLiveView } from '../../src/cli/live-view.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, task } from '../engine/helpers.js';
import { planState } from './helpers.js';

function state(): ExecutionState {
  const thePlan = plan(
    [1, 2, 3, 4].map((n) =>
      task(`1.${n}`, { title: `A task with a title long enough to wrap when narrow, number ${n}` }),
    ),
  );
  thePlan.title = 'A plan whose title makes the header line far wider than seventy columns';
  return planState(thePlan);
}

/**
 * A real terminal emulator (xterm.js, which rewraps lines on resize) behind a TTY-like stream;
 * `\n` ends a line as a TTY (onlcr) makes it.
 */
function terminal(columns: number, rows: number) {
  const term = new Terminal({
    cols: columns,
    rows,
    scrollback: 1000,
    convertEol: true,
    allowProposedApi: true,
  });
  const out = Object.assign(new PassThrough(), { isTTY: true, columns, rows });
  let writes = Promise.resolve();
  out.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    writes = writes.then(() => new Promise<void>((resolve) => term.write(text, resolve)));
  });
  const lines = async () => {
    await writes;
    const buffer = term.buffer.active;
    const all: string[] = [];
    for (let i = 0; i < buffer.length; i += 1) {
      all.push(buffer.getLine(i)?.translateToString(true) ?? '');
    }
    return all;
  };
  const resize = async (newColumns: number) => {
    await writes;
    term.resize(newColumns, rows);
    out.columns = newColumns;
    out.emit('resize');
  };
  return { term, out, lines, resize };
}

describe('live view on a terminal that is resized mid-run', () => {
  it('leaves one header, not a stale copy per redraw, after narrowing from 160 to 70 columns', async () => {
    const { out, lines, resize } = terminal(160, 45);
    out.write('$ parallel-executor run\n');
    const view = createLiveView(out, {
      tty: true,
      color: true,
      size: () => ({ columns: out.columns, rows: out.rows }),
      redrawMs: 10,
    });
    const s = state();
    const progress = async (percent: number) => {
      for (const id of s.task_order) {
        s.tasks[id]!.status = 'in_progress';
        s.tasks[id]!.progress_percent = percent;
        s.tasks[id]!.current_step = `step at ${percent}% of a long description of what happens`;
      }
      view.onEvent({ type: 'task-progress', taskId: '1.1', percent, step: null }, s);
      await delay(40);
    };
    await progress(10);
    await progress(20);
    const wide = await lines();
    expect(wide.some((line) => line.length > 70)).toBe(true);
    await resize(70);
    await delay(20);
    await progress(30);
    await resize(100);
    await progress(40);
    await resize(70);
    await progress(50);
    view.close(s);

    const screen = await lines();
    const headers = screen.filter((line) => line.startsWith('Parallel Execution:'));
    expect(headers).toHaveLength(1);
    expect(screen[0]).toBe('$ parallel-executor run');
    expect(screen.filter((line) => line.startsWith('Status:'))).toHaveLength(4);
    expect(screen.filter((line) => line.includes('  50% |'))).toHaveLength(4);
    expect(screen.join('\n')).not.toMatch(/[1-4]0%/);
    for (const line of screen) expect(line.length).toBeLessThanOrEqual(70);
  });
});
