/**
 * A task check run's output at each step: queued, running, finished (from the job), and final
 * (from the execution state the workflow uploaded: validation table, cost, merge outcome).
 */
import { mdText } from '../../engine/report/markdown.js';
import type { TaskRun } from '../../engine/state/schema.js';
import type { CheckRunOutput } from '../../forge/types.js';
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import type { RecordedTask } from './record.js';
import { encodeTaskData, type TaskData } from './task-data.js';
import { durationText, taskResult, type Conclusion } from '../../github-run/task-result.js';

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

/** The final word on a task, from the state the integrate job uploaded (as the Action says it). */
export function finalOutput(
  task: RecordedTask,
  data: TaskData,
  run: TaskRun,
  integration: IntegrationResult | null,
  links: { artifactUrl: string | null },
): { conclusion: Conclusion; output: CheckRunOutput } {
  const result = taskResult(
    {
      ...run,
      started_at: run.started_at ?? data.startedAt,
      finished_at: run.finished_at ?? data.finishedAt,
    },
    integration,
  );
  const lines = [
    encodeTaskData(data),
    header(task),
    '',
    ...result.lines,
    '',
    [
      data.jobUrl ? `[Logs](${data.jobUrl})` : null,
      links.artifactUrl ? `[Artifacts](${links.artifactUrl})` : null,
    ]
      .filter(Boolean)
      .join(' · '),
  ];
  return {
    conclusion: result.conclusion,
    output: { title: result.title, summary: lines.join('\n').trimEnd() },
  };
}

/** A task's repair leg (the workflow's `repair <task>` job) is running. */
export function repairingOutput(task: RecordedTask, data: TaskData): CheckRunOutput {
  return {
    title: 'Repairing',
    summary: `${encodeTaskData(data)}\n${header(task)}\n\nIntegration left this task out: a repair agent is working on it${data.jobUrl ? ` · [logs](${data.jobUrl})` : ''}.`,
  };
}

/** A task's repair leg ended; the run's end replaces this with the task's final result. */
export function repairedOutput(
  task: RecordedTask,
  data: TaskData,
  conclusion: Conclusion,
): CheckRunOutput {
  const title = conclusion === 'success' ? 'Repair finished' : `Repair: ${TITLE[conclusion]}`;
  const duration = durationText(data.startedAt, data.finishedAt);
  return {
    title,
    summary: `${encodeTaskData(data)}\n${header(task)}\n\n**${title}**${duration ? ` in ${duration}` : ''}${data.jobUrl ? ` · [logs](${data.jobUrl})` : ''}. The repaired result follows when the run integrates the repairs.`,
  };
}
