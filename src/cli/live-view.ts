import { stripVTControlCharacters } from 'node:util';
import {
  displayWidth,
  renderDashboard,
  type DashboardOptions,
} from '../engine/monitor/dashboard.js';
import { formatEventLine } from '../engine/monitor/event-line.js';
import type { ExecutionEvent } from '../engine/monitor/events.js';
import type { ExecutionState } from '../engine/state/schema.js';

export type DashboardRenderer = (state: ExecutionState, options: DashboardOptions) => string;

export interface LiveViewOptions {
  /** Redraw in place (a terminal) or print one line per event (a log, a pipe). */
  tty: boolean;
  color: boolean;
  columns?: number;
  rows?: number;
  /** The terminal's size now (it may be resized mid-run); overrides `columns` and `rows`. */
  size?: () => { columns?: number | undefined; rows?: number | undefined };
  render?: DashboardRenderer;
  now?: () => Date;
  /** Longest delay between a change and the redraw that shows it. */
  redrawMs?: number;
}

export interface LiveView {
  onEvent(event: ExecutionEvent, state: ExecutionState): void;
  /** Final picture, timers stopped. */
  close(state: ExecutionState | null): void;
}

/** Events worth a line of their own even on a terminal, above the dashboard. */
const NOTABLE = new Set<ExecutionEvent['type']>([
  'task-retry',
  'warning',
  'message-escalated',
  'note',
]);

/**
 * The live dashboard. On a terminal it is redrawn in place, within `redrawMs` of any change
 * (event driven, plus a one-second tick for the clocks); elsewhere each event is one line.
 * A resize (SIGWINCH: the stream's `resize` event) redraws at the new size at once; what was
 * drawn is cleared by the rows it takes at the new width, since a terminal that reflows wraps
 * the old lines when it narrows.
 */
export function createLiveView(out: NodeJS.WritableStream, options: LiveViewOptions): LiveView {
  const now = options.now ?? (() => new Date());
  if (!options.tty) {
    return {
      onEvent(event, state) {
        const line = formatEventLine(event, state, now());
        if (line !== null) out.write(`${line}\n`);
      },
      close: () => undefined,
    };
  }
  const render = options.render ?? renderDashboard;
  const size = () => {
    const current = options.size?.() ?? {};
    return {
      columns: Math.max(1, current.columns ?? options.columns ?? 80),
      rows: Math.max(1, current.rows ?? options.rows ?? 40),
    };
  };
  /** Display width of each line on screen, to know how many rows they take after a resize. */
  let drawn: number[] = [];
  let latest: ExecutionState | null = null;
  let pending: NodeJS.Timeout | null = null;
  const erase = () => {
    const { columns } = size();
    const rows = drawn.reduce((sum, width) => sum + Math.max(1, Math.ceil(width / columns)), 0);
    if (rows > 0) out.write(`\x1b[${rows}F\x1b[J`);
    drawn = [];
  };
  const draw = () => {
    pending = null;
    if (latest === null) return;
    const { columns, rows } = size();
    const text = fitRows(
      render(latest, { now: now(), width: columns, color: options.color, rows: rows - 1 }),
      rows,
    );
    erase();
    out.write(text);
    drawn = text
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => displayWidth(stripVTControlCharacters(line)));
  };
  const tick = setInterval(draw, 1000);
  const onResize = () => {
    if (pending !== null) clearTimeout(pending);
    draw();
  };
  out.on('resize', onResize);
  return {
    onEvent(event, state) {
      latest = state;
      if (NOTABLE.has(event.type)) {
        const line = formatEventLine(event, state, now());
        if (line !== null) {
          erase();
          out.write(`${line}\n`);
          draw();
          return;
        }
      }
      pending ??= setTimeout(draw, options.redrawMs ?? 100);
    },
    close(state) {
      clearInterval(tick);
      out.off('resize', onResize);
      if (pending !== null) clearTimeout(pending);
      if (state !== null) latest = state;
      draw();
    },
  };
}

/** A redraw taller than the screen cannot move back up: keep the head and the footer. */
function fitRows(text: string, rows: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const room = Math.max(4, rows - 1);
  if (lines.length <= room) return `${lines.join('\n')}\n`;
  const hidden = lines.length - (room - 1);
  return `${[...lines.slice(0, room - 2), `… ${hidden} more line(s)`, lines.at(-1)].join('\n')}\n`;
}
