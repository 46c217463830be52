import stringWidth from 'string-width';
import type { IntegrationResult } from '../integrate/schema.js';
import {
  activeMs,
  formatClock,
  formatCost,
  formatCount,
  formatDuration,
  formatTimeOfDay,
} from '../format.js';
import { mdCode, mdTable, mdText, singleLine } from '../report/markdown.js';
import {
  executionTitle,
  integrationFate,
  orderedTasks,
  taskOutcome,
  taskWarnings,
  type TaskOutcome,
} from '../report/outcome.js';
import { taskUsage, totalUsage, usageText } from '../report/usage.js';
import { integrationProgressText } from './integration-progress.js';
import type { ExecutionState, TaskRun } from '../state/schema.js';
import { budgetText } from '../report/budget.js';
import { repairRowTexts, repairTableRows } from './repair-rows.js';

const BAR_CELLS = 16;
const RULE_MAX = 54;

export interface DashboardOptions {
  now: Date;
  /** Terminal columns; every line is cut to fit so an in-place redraw never wraps. */
  width?: number;
  color?: boolean;
  /** Terminal rows: when the block-per-task picture is taller, one line per task instead. */
  rows?: number;
}

/**
 * The live terminal picture (the seed's Step 3.2): a block per task with its agent, status,
 * progress bar, elapsed time and current step, then completed/failed counts and the runtime.
 * Pure; the caller redraws it.
 */
export function renderDashboard(state: ExecutionState, options: DashboardOptions): string {
  const width = Math.max(20, options.width ?? 80);
  const color = options.color ?? false;
  const started = new Date(state.started_at);
  const startedText = Number.isNaN(started.getTime()) ? '?' : `${formatTimeOfDay(started)} UTC`;
  const rule: Segment[] = [{ text: '━'.repeat(Math.min(width, RULE_MAX)), style: 'dim' }];
  const lines: Segment[][] = [
    [
      { text: `Parallel Execution: ${terminalText(executionTitle(state))}`, style: 'bold' },
      { text: ` (Started: ${startedText})` },
    ],
    rule,
  ];
  const tasks = orderedTasks(state);
  const blocks = tasks.flatMap((task) => [[], ...taskLines(task, state, options.now)]);
  const integration = integrationLine(state);
  const repairs = repairRowTexts(state).map((text): Segment[] => [{ text: terminalText(text) }]);
  const tail: Segment[][] = [
    ...(integration === null ? [] : [[], integration]),
    ...(repairs.length > 0 ? [[], ...repairs] : []),
    [],
    rule,
    footer(state, tasks, options.now),
  ];
  // Running tasks count with what their agents reported so far.
  const usage = totalUsage(tasks);
  if (usage !== null) tail.push([{ text: `Usage: ${usageText(usage)}` }]);
  // Header, blocks, integration, footer: if that does not fit, the running tasks would scroll
  // out of sight; one line per task (running first) keeps them on screen.
  const compact =
    options.rows !== undefined && lines.length + blocks.length + tail.length > options.rows;
  lines.push(...(compact ? compactLines(tasks, state, options.now) : blocks), ...tail);
  if (state.budget != null) lines.push(budgetLine(state.budget));
  return `${lines.map((line) => paint(fit(line, width), color)).join('\n')}\n`;
}

/** `Budget: $0.42 / $1.00 · 3min / 10min`, and whether it stopped anything. */
function budgetLine(budget: NonNullable<ExecutionState['budget']>): Segment[] {
  const line: Segment[] = [{ text: `Budget: ${budgetText(budget)}` }];
  if (budget.reached !== null)
    line.push({ text: ' (reached: no new task starts)', style: 'yellow' });
  return line;
}

function taskLines(task: TaskRun, state: ExecutionState, now: Date): Segment[][] {
  const outcome = taskOutcome(task, state.integration);
  const style = OUTCOME_STYLE[outcome];
  const percent = settledWell(outcome) ? 100 : Math.round(task.progress_percent);
  const elapsed = taskElapsed(task, now);
  const detail = taskDetail(task, outcome, state.integration);
  const usage = taskUsage(task);
  return [
    [
      {
        text: `Agent: ${terminalText(task.agent)} (${terminalText(task.task_id)} ${terminalText(task.task)})`,
      },
    ],
    [
      { text: 'Status: ' },
      { text: statusWord(task, outcome), style },
      { text: attemptText(task, outcome) },
      { text: ' | Progress: ' },
      { text: progressBar(percent), style },
      {
        text: ` ${String(percent).padStart(3)}% | ${elapsed === null ? '--:--:--' : formatClock(elapsed)}`,
      },
    ],
    [
      { text: `${detail.label}: ` },
      { text: terminalText(detail.text), style: detail.dim ? 'dim' : undefined },
    ],
    ...(usage === null ? [] : [[{ text: `Usage: ${usageText(usage)}` }]]),
  ];
}

/** ` (attempt 2)` on a task running again: its progress started over from zero. */
function attemptText(task: TaskRun, outcome: TaskOutcome): string {
  return outcome === 'RUNNING' && task.attempts > 1 ? ` (attempt ${task.attempts})` : '';
}

/** Where the integration is while it runs, then what it did. */
function integrationLine(state: ExecutionState): Segment[] | null {
  const done = state.integration;
  if (done !== null) {
    const tests =
      done.testsPassed === null ? 'no tests' : done.testsPassed ? 'tests pass' : 'tests FAIL';
    const left = done.dropped.length > 0 ? `, ${done.dropped.length} not merged` : '';
    return [
      { text: 'Integration: ', style: 'bold' },
      {
        text: `${terminalText(done.branch)}: merged ${done.merged.length}${left}; ${tests} (${done.testRuns} run${done.testRuns === 1 ? '' : 's'})`,
      },
    ];
  }
  const progress = state.integration_progress;
  if (progress == null || state.finished_at !== null) return null;
  return [
    { text: 'Integration: ', style: 'bold' },
    { text: terminalText(integrationProgressText(progress)), style: 'cyan' },
  ];
}

function footer(state: ExecutionState, tasks: TaskRun[], now: Date): Segment[] {
  const counts = countOutcomes(tasks, state.integration);
  const done = counts.COMPLETE + counts.COMPLETE_WITH_WARNINGS;
  const runtime = activeMs(state.started_at, state.finished_at ?? now, state.stopped_ms);
  const parts = [`Completed: ${done}/${tasks.length}`, `Failed: ${counts.FAILED}/${tasks.length}`];
  if (counts.NO_CHANGES > 0) parts.push(`No changes: ${counts.NO_CHANGES}`);
  if (counts.DROPPED > 0) parts.push(`Not merged: ${counts.DROPPED}`);
  if (counts.SKIPPED > 0) parts.push(`Skipped: ${counts.SKIPPED}`);
  if (counts.CANCELLED > 0) parts.push(`Cancelled: ${counts.CANCELLED}`);
  if (counts.NOT_STARTED > 0) parts.push(`Not started: ${counts.NOT_STARTED}`);
  parts.push(`Runtime: ${runtime === null ? '--:--:--' : formatClock(runtime)}`);
  return [{ text: parts.join(' | ') }];
}

const COMPACT_ORDER: Partial<Record<TaskOutcome, number>> = { RUNNING: 0, PENDING: 1 };

/**
 * One line per task: running ones first, then those waiting; finished tasks are folded into one
 * count line (their outcomes are in the footer and the report), then the integration, if any.
 */
function compactLines(tasks: readonly TaskRun[], state: ExecutionState, now: Date): Segment[][] {
  const open = tasks
    .map((task) => ({ task, outcome: taskOutcome(task, state.integration) }))
    .filter(({ outcome }) => COMPACT_ORDER[outcome] !== undefined)
    .sort((a, b) => COMPACT_ORDER[a.outcome]! - COMPACT_ORDER[b.outcome]!);
  const lines: Segment[][] = [[]];
  for (const { task, outcome } of open) {
    const percent = Math.round(task.progress_percent);
    const elapsed = taskElapsed(task, now);
    const detail = taskDetail(task, outcome, state.integration);
    const usage = taskUsage(task);
    lines.push([
      { text: `${outcome === 'RUNNING' ? '▶' : '·'} ` },
      { text: `${terminalText(task.task_id)} ${terminalText(task.agent)} ` },
      ...(outcome === 'RUNNING' ? [{ text: `${statusWord(task, outcome)} ` }] : []),
      { text: progressBar(percent), style: OUTCOME_STYLE[outcome] },
      {
        text: ` ${String(percent).padStart(3)}% ${elapsed === null ? '--:--:--' : formatClock(elapsed)}${attemptText(task, outcome)} `,
      },
      ...(usage === null
        ? []
        : [
            {
              text: `${formatCount(usage.outputTokens)} out tokens${usage.costUsd === null ? '' : ` ${formatCost(usage.costUsd)}`} `,
            },
          ]),
      { text: terminalText(detail.text), style: detail.dim ? 'dim' : undefined },
    ]);
  }
  const finished = tasks.length - open.length;
  if (finished > 0) lines.push([{ text: `✔ ${finished} finished (counts below)`, style: 'dim' }]);
  return lines;
}

/** `████████░░░░░░░░`, 16 cells as in the seed. */
export function progressBar(percent: number): string {
  const clamped = Math.min(100, Math.max(0, percent));
  const filled = Math.round((clamped / 100) * BAR_CELLS);
  return `${'█'.repeat(filled)}${'░'.repeat(BAR_CELLS - filled)}`;
}

function settledWell(outcome: TaskOutcome): boolean {
  return (
    outcome === 'COMPLETE' ||
    outcome === 'COMPLETE_WITH_WARNINGS' ||
    outcome === 'NO_CHANGES' ||
    outcome === 'DROPPED'
  );
}

function statusWord(task: TaskRun, outcome: TaskOutcome): string {
  if (outcome === 'COMPLETE_WITH_WARNINGS') return 'COMPLETED (WARNINGS)';
  if (outcome === 'NO_CHANGES') return 'NO CHANGES';
  if (outcome === 'DROPPED') return 'NOT MERGED';
  if (outcome === 'FAILED') return 'FAILED';
  return PHASE_WORD[task.status] ?? task.status.toUpperCase();
}

/** The phase a running task is in, named plainly. */
const PHASE_WORD: Partial<Record<TaskRun['status'], string>> = {
  preparing: 'PREPARING',
  in_progress: 'AGENT WORKING',
  collecting: 'COLLECTING',
  validating: 'VALIDATING',
};

/** What a task does in a phase where its agent is not the one working. */
const PHASE_DETAIL: Partial<Record<TaskRun['status'], string>> = {
  preparing: 'preparing its worktree',
  collecting: 'agent finished; committing its work',
  validating: 'agent finished; running the validation checks',
};

function taskDetail(
  task: TaskRun,
  outcome: TaskOutcome,
  integration: IntegrationResult | null,
): { label: string; text: string; dim: boolean } {
  if (outcome === 'DROPPED') {
    const fate = integrationFate(task.task_id, integration);
    const text =
      fate.kind === 'conflict'
        ? `merge conflict${fate.with.length > 0 ? ` with ${fate.with.join(', ')}` : ''} in ${fate.files.join(', ')}`
        : fate.kind === 'dropped'
          ? fate.reason
          : 'left out of the integration';
    return { label: 'Not merged', text, dim: false };
  }
  if (outcome === 'FAILED' || outcome === 'SKIPPED' || outcome === 'CANCELLED') {
    return { label: 'Reason', text: task.reason ?? 'no reason recorded', dim: false };
  }
  if (outcome === 'COMPLETE_WITH_WARNINGS') {
    const failed = task.validation?.checks.filter((check) => !check.skipped && !check.passed) ?? [];
    const checks =
      failed.length === 0 ? [] : [`${failed.map((c) => c.name).join(', ')} failed (non-blocking)`];
    const text = [...checks, ...taskWarnings(task)].join('; ') || 'non-blocking checks failed';
    return { label: 'Warnings', text, dim: false };
  }
  const phase = outcome === 'RUNNING' ? PHASE_DETAIL[task.status] : undefined;
  if (phase !== undefined) return { label: 'Current', text: phase, dim: false };
  if (outcome === 'NO_CHANGES') {
    const text = task.warnings?.join('; ') || 'the agent changed nothing';
    return { label: 'Warnings', text, dim: false };
  }
  if (task.current_step !== null) return { label: 'Current', text: task.current_step, dim: false };
  if (outcome === 'PENDING') {
    const waiting =
      task.depends_on.length > 0
        ? `waiting for ${task.depends_on.join(', ')}`
        : 'waiting for a free agent';
    return { label: 'Current', text: waiting, dim: true };
  }
  return {
    label: 'Current',
    text: outcome === 'RUNNING' ? task.status.replace('_', ' ') : 'done',
    dim: true,
  };
}

function taskElapsed(task: TaskRun, now: Date): number | null {
  return activeMs(task.started_at, task.finished_at ?? now, task.stopped_ms);
}

function countOutcomes(
  tasks: readonly TaskRun[],
  integration: IntegrationResult | null,
): Record<TaskOutcome, number> {
  const counts: Record<TaskOutcome, number> = {
    COMPLETE: 0,
    COMPLETE_WITH_WARNINGS: 0,
    NO_CHANGES: 0,
    DROPPED: 0,
    FAILED: 0,
    SKIPPED: 0,
    CANCELLED: 0,
    NOT_STARTED: 0,
    RUNNING: 0,
    PENDING: 0,
  };
  for (const task of tasks) counts[taskOutcome(task, integration)] += 1;
  return counts;
}

// --- GitHub comment variant ---------------------------------------------------------------

const OUTCOME_EMOJI: Record<TaskOutcome, string> = {
  COMPLETE: '✅ complete',
  COMPLETE_WITH_WARNINGS: '⚠️ warnings',
  NO_CHANGES: '⚠️ no changes',
  DROPPED: '🚫 not merged',
  FAILED: '❌ failed',
  SKIPPED: '⏭️ skipped',
  CANCELLED: '⏹️ cancelled',
  NOT_STARTED: '⏸️ not started (budget)',
  RUNNING: '🔄',
  PENDING: '⏳ pending',
};

/**
 * The same picture as a Markdown table for a GitHub comment (the caller adds its own hidden
 * marker). Without `now`, running tasks say when they started instead of how long they have run.
 */
export function renderDashboardMarkdown(
  state: ExecutionState,
  options: { now?: Date } = {},
): string {
  const tasks = orderedTasks(state);
  const running = state.status === 'pending' || state.status === 'in_progress';
  const runtime = activeMs(
    state.started_at,
    state.finished_at ?? options.now ?? null,
    state.stopped_ms,
  );
  const rows = tasks.map((task) => {
    const outcome = taskOutcome(task, state.integration);
    const percent = settledWell(outcome) ? 100 : Math.round(task.progress_percent);
    const status =
      outcome === 'RUNNING'
        ? `🔄 ${statusWord(task, outcome).toLowerCase()}${attemptText(task, outcome)}`
        : OUTCOME_EMOJI[outcome];
    const detail = taskDetail(task, outcome, state.integration);
    return [
      mdText(`${task.task_id} ${task.task}`, 60),
      mdText(task.agent, 40),
      status,
      `${mdCode(progressBar(percent))} ${percent}%`,
      markdownElapsed(task, options.now),
      outcome === 'COMPLETE' ? '' : mdText(detail.text, 100),
    ];
  });
  const counts = countOutcomes(tasks, state.integration);
  const done = counts.COMPLETE + counts.COMPLETE_WITH_WARNINGS;
  const usage = totalUsage(tasks);
  const heading = running ? '🔄 Parallel execution running' : '🏁 Parallel execution finished';
  const totals = [
    `**Completed** ${done}/${tasks.length}`,
    `**Failed** ${counts.FAILED}/${tasks.length}`,
    ...(counts.NO_CHANGES > 0 ? [`**No changes** ${counts.NO_CHANGES}`] : []),
    ...(counts.DROPPED > 0 ? [`**Not merged** ${counts.DROPPED}`] : []),
    ...(counts.SKIPPED > 0 ? [`**Skipped** ${counts.SKIPPED}`] : []),
    ...(counts.NOT_STARTED > 0 ? [`**Not started** ${counts.NOT_STARTED}`] : []),
    ...(usage === null ? [] : [`**Usage** ${usageText(usage)}`]),
    ...(state.budget == null ? [] : [`**Budget** ${budgetText(state.budget)}`]),
    `**Runtime** ${runtime === null ? 'running' : formatDuration(runtime)}`,
  ];
  return [
    `### ${heading}: ${mdText(executionTitle(state), 120)}`,
    '',
    `Execution ${mdCode(state.execution_id)} · started ${formatTimeOfDay(new Date(state.started_at))} UTC`,
    '',
    ...mdTable(
      ['Task', 'Agent', 'Status', 'Progress', 'Elapsed', 'Current step'],
      [...rows, ...repairTableRows(state)],
    ),
    '',
    totals.join(' · '),
    '',
  ].join('\n');
}

function markdownElapsed(task: TaskRun, now?: Date): string {
  if (task.started_at === null) return '—';
  const ms = activeMs(task.started_at, task.finished_at ?? now ?? null, task.stopped_ms);
  if (ms !== null) return formatDuration(ms);
  const started = new Date(task.started_at);
  return Number.isNaN(started.getTime()) ? '—' : `since ${formatTimeOfDay(started)} UTC`;
}

// --- terminal text ------------------------------------------------------------------------

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';

interface Segment {
  text: string;
  style?: Style | undefined;
}

const OUTCOME_STYLE: Record<TaskOutcome, Style> = {
  COMPLETE: 'green',
  COMPLETE_WITH_WARNINGS: 'yellow',
  NO_CHANGES: 'yellow',
  DROPPED: 'red',
  FAILED: 'red',
  CANCELLED: 'red',
  SKIPPED: 'dim',
  NOT_STARTED: 'dim',
  PENDING: 'dim',
  RUNNING: 'cyan',
};

const ANSI: Record<Style, string> = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  green: '\u001b[32m',
  red: '\u001b[31m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
};
const RESET = '\u001b[0m';

/** Untrusted text for a terminal: one line, no escape sequences (they could move the cursor). */
function terminalText(text: string): string {
  return singleLine(text);
}

function paint(segments: readonly Segment[], color: boolean): string {
  return segments
    .map((segment) =>
      color && segment.style !== undefined && segment.text !== ''
        ? `${ANSI[segment.style]}${segment.text}${RESET}`
        : segment.text,
    )
    .join('');
}

/** Cut a line to `width` terminal columns, ending with `…` when something was cut. */
function fit(segments: readonly Segment[], width: number): Segment[] {
  const total = segments.reduce((sum, segment) => sum + displayWidth(segment.text), 0);
  if (total <= width) return [...segments];
  const out: Segment[] = [];
  let room = width - 1;
  for (const segment of segments) {
    if (room <= 0) break;
    let text = '';
    // By grapheme: an emoji with its variation selector or a ZWJ sequence is one picture.
    for (const { segment: grapheme } of GRAPHEMES.segment(segment.text)) {
      const w = stringWidth(grapheme);
      if (w > room) {
        room = 0;
        break;
      }
      text += grapheme;
      room -= w;
    }
    out.push({ text, style: segment.style });
  }
  out.push({ text: '…' });
  return out;
}

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Terminal columns `text` takes: emoji and East Asian wide characters count two. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}
