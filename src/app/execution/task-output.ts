/**
 * A task check run's output at each step: queued, running, finished (from the job), and final
 * (from the execution state the workflow uploaded: validation table, cost, merge outcome).
 */
import { mdCode, mdText } from '../../engine/report/markdown.js';
import type { TaskRun } from '../../engine/monitor/state.js';
import type { CheckRunInput, CheckRunOutput } from '../../engine/ports/forge.js';
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import { formatDuration } from '../../engine/report/format.js';
import { taskUsage, usageText } from '../../engine/report/usage.js';
import type { RecordedTask } from './record.js';
import { encodeTaskData, type TaskData } from './task-data.js';

type Conclusion = NonNullable<CheckRunInput['conclusion']>;

function header(task: RecordedTask): string {
  const agents = task.agents.length > 0 ? task.agents.join(', ') : task.agent;
  const deps = task.dependsOn.length > 0 ? ` · depends on ${task.dependsOn.join(', ')}` : '';
  return `**Task ${mdText(task.id)}**: ${mdText(task.title)}  \nAgent: ${mdText(agents)}${task.group ? ` · group ${mdText(task.group)}` : ''}${deps}`;
}

/** `laterWave`: the task waits for others of the execution, so a later wave runs it. */
export function queuedOutput(task: RecordedTask, laterWave = false): CheckRunOutput {
  const data: TaskData = { startedAt: null, finishedAt: null, jobUrl: null };
  return {
    title: laterWave ? 'Waiting for its dependencies' : 'Queued',
    summary: `${encodeTaskData(data)}\n${header(task)}\n\n${laterWave ? 'Runs in a later wave, once the tasks it depends on have landed.' : 'Waiting for a runner.'}`,
  };
}

/** A task the execution stopped before running: why, in its check run. */
export function notRunOutput(task: RecordedTask, reason: string): CheckRunOutput {
  const data: TaskData = { startedAt: null, finishedAt: null, jobUrl: null };
  return {
    title: 'Not run',
    summary: `${encodeTaskData(data)}\n${header(task)}\n\nTask ${mdText(task.id)} did not run: ${reason}.`,
  };
}

export function runningOutput(task: RecordedTask, data: TaskData): CheckRunOutput {
  return {
    title: 'Agent running',
    summary: `${encodeTaskData(data)}\n${header(task)}\n\nStarted ${data.startedAt ?? 'just now'}${data.jobUrl ? ` · [logs](${data.jobUrl})` : ''}.`,
  };
}

export function jobConclusion(conclusion: string | null): Conclusion {
  switch (conclusion) {
    case 'success':
      return 'success';
    case 'cancelled':
      return 'cancelled';
    case 'skipped':
      return 'skipped';
    case 'timed_out':
      return 'timed_out';
    case 'neutral':
      return 'neutral';
    default:
      return 'failure';
  }
}

const TITLE: Record<Conclusion, string> = {
  success: 'Agent finished',
  failure: 'Agent failed',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
  timed_out: 'Timed out',
  neutral: 'Finished',
  action_required: 'Action required',
};

export function finishedOutput(
  task: RecordedTask,
  data: TaskData,
  conclusion: Conclusion,
): CheckRunOutput {
  const duration = durationText(data.startedAt, data.finishedAt);
  return {
    title: TITLE[conclusion],
    summary: [
      encodeTaskData(data),
      header(task),
      '',
      `**${TITLE[conclusion]}**${duration ? ` in ${duration}` : ''}${data.jobUrl ? ` · [logs](${data.jobUrl})` : ''}. Validation and merge results follow when the run integrates.`,
    ].join('\n'),
  };
}

/** The final word on a task, from the state the integrate job uploaded. */
export function finalOutput(
  task: RecordedTask,
  data: TaskData,
  run: TaskRun,
  integration: IntegrationResult | null,
  links: { artifactUrl: string | null },
): { conclusion: Conclusion; output: CheckRunOutput } {
  const conclusion = finalConclusion(run, integration);
  const duration = durationText(
    run.started_at ?? data.startedAt,
    run.finished_at ?? data.finishedAt,
  );
  const lines = [
    encodeTaskData(data),
    header(task),
    '',
    `**Status**: ${run.status}${duration ? ` · **Duration**: ${duration}` : ''}${costText(run)}`,
    ...(run.reason ? [`**Reason**: ${mdText(run.reason, 500)}`] : []),
    ...(mergeLine(run.task_id, integration) ? [mergeLine(run.task_id, integration)!] : []),
    '',
    ...validationTable(run),
    '',
    [
      data.jobUrl ? `[Logs](${data.jobUrl})` : null,
      links.artifactUrl ? `[Artifacts](${links.artifactUrl})` : null,
    ]
      .filter(Boolean)
      .join(' · '),
  ];
  const title =
    conclusion === 'success'
      ? run.validation?.status === 'COMPLETE_WITH_WARNINGS'
        ? 'Completed with warnings'
        : 'Completed and merged'
      : conclusion === 'failure'
        ? run.status === 'completed'
          ? 'Not merged'
          : 'Failed'
        : TITLE[conclusion];
  return { conclusion, output: { title, summary: lines.join('\n').trimEnd() } };
}

function finalConclusion(run: TaskRun, integration: IntegrationResult | null): Conclusion {
  if (run.status === 'cancelled') return 'cancelled';
  if (run.status === 'skipped') return 'skipped';
  if (run.status !== 'completed') return 'failure';
  if (integration && !integration.merged.includes(run.task_id)) return 'failure';
  return 'success';
}

function mergeLine(taskId: string, integration: IntegrationResult | null): string | null {
  if (!integration) return null;
  if (integration.merged.includes(taskId)) return `**Merged** into \`${integration.branch}\``;
  const conflict = integration.conflicts.find((c) => c.taskId === taskId);
  if (conflict) {
    return `**Merge conflict** in ${conflict.files.map((f) => mdCode(f)).join(', ')}${conflict.with.length ? ` (with ${conflict.with.join(', ')})` : ''}`;
  }
  const dropped = integration.dropped.find((d) => d.taskId === taskId);
  return dropped ? `**Not merged**: ${mdText(dropped.reason, 500)}` : null;
}

function validationTable(run: TaskRun): string[] {
  const checks = run.validation?.checks ?? [];
  if (checks.length === 0) return ['No validation report.'];
  return [
    '| Check | Result | Command | Duration |',
    '|---|---|---|---|',
    ...checks.map(
      (c) =>
        `| ${c.name}${c.critical ? ' (critical)' : ''} | ${c.skipped ? '⏭️ skipped' : c.passed ? '✅ passed' : '❌ failed'} | ${c.command ? mdCode(c.command) : '—'} | ${formatDuration(c.durationMs)} |`,
    ),
  ];
}

function costText(run: TaskRun): string {
  const m = run.metrics;
  if (!m) return '';
  const usage = taskUsage(run);
  const parts = [
    `**Tokens / cost**: ${usage === null ? 'not reported by the agent' : usageText(usage)}`,
    `**Changes**: +${m.lines_added} −${m.lines_removed} in ${m.files_modified} file(s)`,
  ].filter(Boolean);
  return ` · ${parts.join(' · ')}`;
}

export function durationText(from: string | null, to: string | null): string | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : null;
}
