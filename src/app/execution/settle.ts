/**
 * A wave's run ended: settle the check runs of the tasks it ran (from the execution state the
 * integrate job uploaded, else from the jobs), and tell apart the tasks no wave has run yet. When
 * the execution stops, those get their reason.
 */
import { isArtifactOf } from '../../forge/artifact-names.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import type { CheckRunInput } from '../../forge/types.js';
import type { ArtifactInfo, JobInfo } from '../github/app-api.js';
import type { Scope } from '../scope.js';
import { taskIdFromJobName } from './names.js';
import type { RecordedTask } from './record.js';
import type { ResolvedExecution } from './resolve.js';
import { flushTaskCheck, showTaskCheck, type TaskCheckUpdate } from './task-checks.js';
import { decodeTaskData, type TaskData } from './task-data.js';
import { finalOutput, finishedOutput, jobConclusion, notRunOutput } from './task-output.js';
import { currentWave } from './waves.js';

export type Conclusion = NonNullable<CheckRunInput['conclusion']>;

export interface EndedRun {
  id: number;
  conclusion: string | null;
  url: string | null;
}

export interface SettledWave {
  /** Every task settled so far, this wave's and the earlier waves'. */
  conclusions: Map<string, Conclusion>;
  /** This wave's tasks only. */
  waveConclusions: Map<string, Conclusion>;
  /** Tasks no wave has run yet (their check runs are still open). */
  remaining: RecordedTask[];
}

export async function settleWave(
  scope: Scope,
  execution: ResolvedExecution,
  run: EndedRun,
  found: { jobs: JobInfo[]; artifacts: ArtifactInfo[]; state: ExecutionState | null },
): Promise<SettledWave> {
  const { record } = execution;
  const now = scope.deps.clock.now().toISOString();
  const jobs = latestJobs(found.jobs);
  const { state } = found;
  const inWave = new Set(currentWave(record));
  const settled: SettledWave = {
    conclusions: new Map(),
    waveConclusions: new Map(),
    remaining: [],
  };
  for (const task of record.tasks) {
    const check = execution.checks.get(task.id);
    if (!check) continue;
    const job = jobs.get(task.id) ?? null;
    const taskRun = state?.tasks[task.id];
    const ranHere =
      inWave.has(task.id) ||
      job !== null ||
      (taskRun !== undefined && taskRun.status !== 'pending');
    if (!ranHere) {
      // Settled by an earlier wave, or waiting for a later one.
      if (check.status === 'completed') {
        settled.conclusions.set(task.id, (check.conclusion as Conclusion | null) ?? 'failure');
      } else {
        settled.remaining.push(task);
      }
      continue;
    }
    const known = decodeTaskData(check.outputSummary);
    const data: TaskData = {
      startedAt: known.startedAt ?? job?.startedAt ?? null,
      finishedAt: known.finishedAt ?? job?.completedAt ?? (job ? now : null),
      jobUrl: known.jobUrl ?? job?.url ?? null,
    };
    // Linked only when it is the one artifact for the task (another could be an agent's upload).
    const named = found.artifacts.filter((a) => isArtifactOf(a.name, task.id));
    const artifact = named.length === 1 ? named[0]! : null;
    let update: TaskCheckUpdate;
    if (taskRun) {
      const final = finalOutput(task, data, taskRun, state?.integration ?? null, {
        artifactUrl: artifact?.url ?? null,
      });
      update = { status: 'completed', conclusion: final.conclusion, output: final.output };
    } else if (check.status === 'completed') {
      const conclusion = (check.conclusion as Conclusion | null) ?? 'failure';
      settled.conclusions.set(task.id, conclusion);
      settled.waveConclusions.set(task.id, conclusion);
      await flushTaskCheck(scope, execution, task.id);
      continue;
    } else {
      update = unreportedTask(task, data, job, run);
    }
    const conclusion = update.conclusion ?? 'failure';
    settled.conclusions.set(task.id, conclusion);
    settled.waveConclusions.set(task.id, conclusion);
    await showTaskCheck(
      scope,
      execution,
      task.id,
      { ...update, ...(data.jobUrl ? { detailsUrl: data.jobUrl } : {}) },
      'final',
    );
  }
  return settled;
}

/** The execution stops: each task no wave ran is concluded with why. */
export async function concludeNotRun(
  scope: Scope,
  execution: ResolvedExecution,
  tasks: readonly RecordedTask[],
  stop: { reasons: ReadonlyMap<string, string>; conclusion: Conclusion },
  conclusions: Map<string, Conclusion>,
): Promise<void> {
  for (const task of tasks) {
    const check = execution.checks.get(task.id);
    if (!check) continue;
    const output = notRunOutput(task, stop.reasons.get(task.id) ?? 'the execution stopped');
    conclusions.set(task.id, stop.conclusion);
    await showTaskCheck(
      scope,
      execution,
      task.id,
      { status: 'completed', conclusion: stop.conclusion, output },
      'final',
    );
  }
}

/** A task of the wave no event settled: its job's result, or why it never ran. */
function unreportedTask(
  task: RecordedTask,
  data: TaskData,
  job: JobInfo | null,
  run: EndedRun,
): TaskCheckUpdate {
  if (job && job.status === 'completed') {
    const conclusion = jobConclusion(job.conclusion);
    return { status: 'completed', conclusion, output: finishedOutput(task, data, conclusion) };
  }
  if (run.conclusion === 'cancelled') {
    return {
      status: 'completed',
      conclusion: 'cancelled',
      output: {
        title: 'Cancelled',
        summary: `The workflow run was cancelled before task ${task.id} finished.`,
      },
    };
  }
  if (!job) {
    return {
      status: 'completed',
      conclusion: 'skipped',
      output: notRunOutput(
        task,
        `the workflow run ended (${run.conclusion ?? 'no conclusion'}) without a job for it`,
      ),
    };
  }
  return {
    status: 'completed',
    conclusion: 'failure',
    output: {
      title: 'Did not finish',
      summary: `The job of task ${task.id} did not finish (${job.status}).`,
    },
  };
}

function latestJobs(jobs: JobInfo[]): Map<string, JobInfo> {
  const byTask = new Map<string, JobInfo>();
  for (const job of jobs) {
    const taskId = taskIdFromJobName(job.name);
    if (taskId !== null) byTask.set(taskId, job);
  }
  return byTask;
}
