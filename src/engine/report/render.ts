import type { ExecutionState } from '../state/schema.js';
import { activeMs, formatDuration, formatRatio, formatTimestamp } from '../format.js';
import { renderBudgetSection } from './budget.js';
import { renderCheckoutSection } from './checkout-section.js';
import { renderGantt } from './gantt.js';
import { renderIntegrationSection } from './integration-section.js';
import { renderIssuesSection } from './issues-section.js';
import { mdCode, mdSha, mdText } from './markdown.js';
import { computeMetrics, type ExecutionMetrics } from './metrics.js';
import { renderNextSteps, type NextGroup } from './next-steps.js';
import {
  EXECUTION_OUTCOME_LABEL,
  executionOutcome,
  executionTitle,
  orderedTasks,
  taskOutcome,
  type TaskOutcome,
} from './outcome.js';
import { renderTaskSection } from './task-section.js';
import { usageText } from './usage.js';

export interface ReportOptions {
  /** Stands in for the end of a still-running execution; without it, running times are left open. */
  now?: Date;
  /** The plan's next group, for the "Next Steps" command (the state does not know the plan). */
  nextGroup?: NextGroup | null;
  /** The run cleans up right after this report (a fully integrated local run): no clean-up step. */
  cleansUp?: boolean;
}

/**
 * The execution report (the seed's Step 5.1 template) as Markdown. Pure: the same state gives
 * the same bytes, so it can be snapshot-tested, committed and posted as a comment.
 */
export function renderReport(state: ExecutionState, options: ReportOptions = {}): string {
  const tasks = orderedTasks(state);
  const metrics = computeMetrics(state, options.now);
  const lines = [
    `# Parallel Execution Report: ${mdText(executionTitle(state), 160)}`,
    '',
    ...summarySection(state, options.now),
    ...renderBudgetSection(state),
    ...renderTaskSection(tasks, state.integration, state.repo_root, options.now),
    ...renderIntegrationSection(state),
    ...metricsSection(metrics),
    ...timelineSection(state, options.now),
    ...renderIssuesSection(state),
    ...renderCheckoutSection(state),
    ...renderNextSteps(state, options.nextGroup ?? null, options.cleansUp ?? false),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}

function summarySection(state: ExecutionState, now?: Date): string[] {
  const wall = activeMs(state.started_at, state.finished_at ?? now ?? null, state.stopped_ms);
  const running = state.finished_at === null;
  const duration =
    wall === null ? 'still running' : `${formatDuration(wall)}${running ? ' so far' : ''}`;
  return [
    '## Execution Summary',
    `- **Execution ID**: ${mdCode(state.execution_id)}`,
    `- **Plan**: ${mdCode(state.plan_file)}${state.plan_title === null ? '' : ` (${mdText(state.plan_title, 120)})`}`,
    `- **Base**: ${mdCode(state.base_ref)} at ${mdSha(state.base_sha)}`,
    // A time that is not a date is shown as it is, so it is untrusted text like any other.
    `- **Started**: ${mdText(formatTimestamp(state.started_at))}`,
    `- **Completed**: ${state.finished_at === null ? 'not yet' : mdText(formatTimestamp(state.finished_at))}`,
    `- **Duration**: ${duration}`,
    `- **Status**: ${EXECUTION_OUTCOME_LABEL[executionOutcome(state)]}${state.status === 'cancelled' ? ' (cancelled)' : ''}`,
    `- **Tasks**: ${taskCounts(state)}`,
    '',
  ];
}

const COUNT_ORDER: [TaskOutcome, string][] = [
  ['COMPLETE', 'complete'],
  ['COMPLETE_WITH_WARNINGS', 'with warnings'],
  ['NO_CHANGES', 'changed nothing'],
  ['DROPPED', 'not merged'],
  ['FAILED', 'failed'],
  ['SKIPPED', 'skipped'],
  ['CANCELLED', 'cancelled'],
  ['NOT_STARTED', 'not started (budget)'],
  ['RUNNING', 'running'],
  ['PENDING', 'pending'],
];

function taskCounts(state: ExecutionState): string {
  const tasks = orderedTasks(state);
  const counts = new Map<TaskOutcome, number>();
  for (const task of tasks) {
    const outcome = taskOutcome(task, state.integration);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  const parts = COUNT_ORDER.flatMap(([outcome, label]) => {
    const count = counts.get(outcome) ?? 0;
    return count === 0 ? [] : [`${count} ${label}`];
  });
  return `${tasks.length}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

function metricsSection(metrics: ExecutionMetrics): string[] {
  const { lines: totals, mergedLines, usage, efficiency } = metrics;
  const lines = ['## Metrics'];
  const merged =
    mergedLines === null ? '' : `; merged: +${mergedLines.added} / -${mergedLines.removed}`;
  lines.push(
    `- **Total Lines Changed**: +${totals.added} / -${totals.removed} (${totals.tasks} task(s) with metrics${merged})`,
  );
  lines.push(`- **Total Files Modified**: ${totals.files} (distinct paths)`);
  lines.push(
    usage === null
      ? '- **Tokens / Cost**: not reported by the agents'
      : `- **Tokens / Cost**: ${usageText(usage.total)} (reported by ${usage.tasks} task(s))`,
  );
  lines.push('- **Parallel Efficiency**:', ...efficiencyLines(efficiency), '');
  return lines;
}

function efficiencyLines(e: ExecutionMetrics['efficiency']): string[] {
  const wall = e.wallMs === null ? 'unknown (still running)' : formatDuration(e.wallMs);
  const lines = [`  - Wall time: ${wall}`];
  if (e.sequentialEstimateMs === null) {
    lines.push('  - Sequential estimate: none of the tasks that ran had an estimate in the plan');
  } else {
    const unestimated =
      e.unestimatedTasks.length === 0
        ? ''
        : `; without an estimate: ${e.unestimatedTasks.map((id) => mdText(id, 40)).join(', ')}`;
    lines.push(
      // Shown beside the wall time, never as a ratio: hour estimates against seconds of scripted
      // work make a figure like 2000× that says nothing about the tool.
      `  - Sequential estimate: ${formatDuration(e.sequentialEstimateMs)} (the plan's estimates summed over the ${e.estimatedTasks.length} task(s) that ran${unestimated}; not a measured run)`,
    );
  }
  if (e.sumTaskMs !== null) {
    lines.push(
      `  - Sum of task durations: ${formatDuration(e.sumTaskMs)} (the measured work, as if run one task after another)`,
    );
  }
  if (e.parallelSpeedup !== null && e.sumTaskMs !== null && e.wallMs !== null) {
    // Below 1× nothing was saved: "0ms less" read as a saving. The wall time also holds what is
    // no task's time (the integration, the report, a wait for a dependency or a resume).
    const comparison =
      e.sumTaskMs > e.wallMs
        ? `${formatDuration(e.sumTaskMs - e.wallMs)} less than running them one after another`
        : `nothing saved: the wall time is ${formatDuration(e.wallMs - e.sumTaskMs)} more than the tasks' own, spent outside them (integration, the report, waiting)`;
    lines.push(
      `  - Parallel speed-up: ${formatRatio(e.parallelSpeedup)} (sum of task durations ÷ wall time: on average ${e.parallelSpeedup.toFixed(1)} tasks ran at once; ${comparison})`,
    );
  }
  return lines;
}

function timelineSection(state: ExecutionState, now?: Date): string[] {
  const gantt = renderGantt(state, now);
  const notRun = orderedTasks(state).filter((task) => task.started_at === null);
  const note =
    notRun.length === 0
      ? []
      : [
          '',
          `Not on the timeline (never started): ${notRun.map((task) => mdText(task.task_id, 40)).join(', ')}`,
        ];
  if (gantt.length === 0) return ['## Timeline', '', 'No task started.', ''];
  return ['## Timeline', '', ...gantt, ...note, ''];
}
