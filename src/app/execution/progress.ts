/**
 * A workflow job moved: move the task's check run (queued → in_progress → completed) and ask for a
 * dashboard redraw. Jobs of other workflows, and repeated events, change nothing.
 */
import type { Scope } from '../scope.js';
import type { CheckRunInfo } from '../../forge/types.js';
import { taskCheckName } from '../../forge/check-names.js';
import { repairCheckName, taskIdFromJobName } from './names.js';
import { scheduleDashboard } from './refresh.js';
import { resolveByRun, type ResolvedExecution } from './resolve.js';
import { showTaskCheck } from './task-checks.js';
import { decodeTaskData } from './task-data.js';
import { taskExternalId } from './id.js';
import {
  finishedOutput,
  jobConclusion,
  repairedOutput,
  repairingOutput,
  runningOutput,
} from './task-output.js';

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
  const repairId = taskIdFromJobName(job.name, 'repair');
  if (repairId !== null) return handleRepairJob(scope, execution, repairId, job);
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

/**
 * A task's repair leg moved: its own check run (`<task check> (repair)`) shows it, since a
 * completed task check run does not go back to running. Never moved backwards either; the run's
 * end writes the task's final result on it too (`showTaskCheck`).
 */
async function handleRepairJob(
  scope: Scope,
  execution: ResolvedExecution,
  taskId: string,
  job: JobEvent,
): Promise<JobOutcome> {
  const task = execution.record.tasks.find((t) => t.id === taskId);
  if (!task) return 'not-a-task';
  const repairs = (execution.repairs ??= new Map<string, CheckRunInfo>());
  const known = repairs.get(task.id);
  if (
    known?.status === 'completed' ||
    (job.action === 'in_progress' && known?.status === 'in_progress')
  ) {
    return 'unchanged';
  }
  const before = decodeTaskData(known?.outputSummary ?? null);
  const data = {
    startedAt: job.startedAt ?? before.startedAt ?? scope.deps.clock.now().toISOString(),
    finishedAt:
      job.action === 'completed' ? (job.completedAt ?? scope.deps.clock.now().toISOString()) : null,
    jobUrl: job.url ?? before.jobUrl,
  };
  const conclusion = job.action === 'completed' ? jobConclusion(job.conclusion) : undefined;
  const fields = {
    status: job.action === 'completed' ? ('completed' as const) : ('in_progress' as const),
    ...(conclusion ? { conclusion } : {}),
    ...(data.jobUrl ? { detailsUrl: data.jobUrl } : {}),
    output: conclusion ? repairedOutput(task, data, conclusion) : repairingOutput(task, data),
  };
  const name = repairCheckName(taskCheckName(task));
  // Recorded before the write, so an event handled meanwhile sees how far the check run is.
  const mine: CheckRunInfo = {
    id: known?.id ?? 0,
    name,
    headSha: execution.record.sha,
    status: fields.status,
    conclusion: conclusion ?? null,
    externalId: taskExternalId(execution.record.execution, task.id),
    detailsUrl: data.jobUrl ?? null,
    url: known?.url ?? null,
    outputTitle: fields.output.title,
    outputSummary: fields.output.summary,
  };
  repairs.set(task.id, mine);
  if (mine.id !== 0) {
    await scope.forge.updateCheckRun(mine.id, fields);
  } else {
    const created = await scope.forge.createCheckRun({
      name,
      headSha: execution.record.sha,
      externalId: mine.externalId!,
      ...fields,
    });
    repairs.set(task.id, { ...(repairs.get(task.id) ?? mine), id: created.id });
  }
  scheduleDashboard(scope, execution.record.sha, execution.record.execution);
  return 'updated';
}
