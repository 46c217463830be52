/**
 * A workflow job moved: move the task's check run (queued → in_progress → completed) and ask for a
 * dashboard redraw. Jobs of other workflows, and repeated events, change nothing.
 */
import type { Scope } from '../scope.js';
import { taskIdFromJobName } from './names.js';
import { scheduleDashboard } from './refresh.js';
import { resolveByRun } from './resolve.js';
import { showTaskCheck } from './task-checks.js';
import { decodeTaskData } from './task-data.js';
import { finishedOutput, jobConclusion, runningOutput } from './task-output.js';

export interface JobEvent {
  action: 'queued' | 'in_progress' | 'completed' | 'waiting' | string;
  runId: number;
  headSha: string;
  name: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  url: string | null;
}

export type JobOutcome = 'not-ours' | 'not-a-task' | 'unchanged' | 'updated';

export async function handleJobEvent(scope: Scope, job: JobEvent): Promise<JobOutcome> {
  if (job.action !== 'in_progress' && job.action !== 'completed') return 'unchanged';
  const execution = await resolveByRun(scope, job.headSha, job.runId, null, { cached: true });
  if (!execution) return 'not-ours';
  const taskId = taskIdFromJobName(job.name);
  const task = taskId === null ? undefined : execution.record.tasks.find((t) => t.id === taskId);
  const check = task ? execution.checks.get(task.id) : undefined;
  if (!task || !check) return 'not-a-task';
  // Events can arrive late or twice: never move a check run backwards.
  if (
    check.status === 'completed' ||
    (job.action === 'in_progress' && check.status === 'in_progress')
  ) {
    return 'unchanged';
  }
  const known = decodeTaskData(check.outputSummary);
  const data = {
    startedAt: job.startedAt ?? known.startedAt ?? scope.deps.clock.now().toISOString(),
    finishedAt:
      job.action === 'completed' ? (job.completedAt ?? scope.deps.clock.now().toISOString()) : null,
    jobUrl: job.url ?? known.jobUrl,
  };
  const detailsUrl = data.jobUrl ? { detailsUrl: data.jobUrl } : {};
  if (job.action === 'in_progress') {
    const output = runningOutput(task, data);
    await showTaskCheck(
      scope,
      execution,
      task.id,
      { status: 'in_progress', ...detailsUrl, output },
      'running',
    );
  } else {
    const conclusion = jobConclusion(job.conclusion);
    const output = finishedOutput(task, data, conclusion);
    // The run's end usually follows soon with the final word, which replaces this one.
    await showTaskCheck(
      scope,
      execution,
      task.id,
      { status: 'completed', conclusion, ...detailsUrl, output },
      'finished',
    );
  }
  scheduleDashboard(scope, execution.record.sha, execution.record.execution);
  return 'updated';
}
