/**
 * Starting an execution: take the PR's lock (the dashboard comment), create the summary check run
 * (which carries the record) and one queued check run per task, dispatch the workflow, then point
 * the record and the dashboard at the workflow run. Every step's state is in GitHub, so a crash
 * half-way leaves something the next `/parallel-run` can see and work around.
 */
import type { Plan, Task } from '../../engine/plan/schema.js';
import { ParallelExecutorError } from '../../engine/errors.js';
import { WritePriority } from '../../forge/policy.js';
import type { CheckRunInfo } from '../../forge/types.js';
import type { Scope } from '../scope.js';
import { cancelTaskChecks } from './cancel-checks.js';
import { busyText, type DashboardLock, dashboardBody } from './dashboard.js';
import { newExecutionId, taskExternalId } from './id.js';
import { claimExecution, findActiveExecution, type LockedExecution } from './lock.js';
import { CANCEL_ACTION, SUMMARY_CHECK_NAME } from './names.js';
import { taskCheckName } from '../../forge/check-names.js';
import type { ExecutionRecord, RecordedTask } from './record.js';
import { writeDashboard } from './refresh.js';
import { executionsOnCommit, type ResolvedExecution } from './resolve.js';
import { buildExecutionState } from './state.js';
import { runningSummary } from './summary.js';
import { queuedOutput } from './task-output.js';
import { currentWave, pickWave, waveCorrelationId } from './waves.js';

export interface StartRequest {
  pr: number | null;
  /** Branch the workflow runs on (a PR's head branch, or the pushed branch). */
  ref: string;
  sha: string;
  workflow: string;
  planPath: string;
  plan: Plan;
  group: string;
  tasks: Task[];
  /** The tasks were named one by one (a retry), not picked as a group's pending tasks. */
  namedTasks: boolean;
  /** Inputs the workflow declares (`on.workflow_dispatch.inputs`): only these are sent. */
  workflowInputs: ReadonlySet<string>;
  startedBy: string | null;
}

export type StartResult =
  | { kind: 'started'; execution: ResolvedExecution }
  | { kind: 'busy'; holder: LockedExecution | null }
  | { kind: 'not-dispatched'; execution: ResolvedExecution; error: string };

/**
 * Called with executions whose workflow run ended without the app hearing of it; returns one that
 * still goes on (its next wave started), which keeps the PR busy.
 */
export type EndedHandler = (ended: LockedExecution[]) => Promise<LockedExecution | null>;

export async function startExecution(
  scope: Scope,
  request: StartRequest,
  onEnded: EndedHandler,
): Promise<StartResult> {
  const now = scope.deps.clock.now();
  const record = buildRecord(
    request,
    newExecutionId({ pr: request.pr }, now, scope.deps.random),
    now,
  );
  const pending = pendingChecks(record);

  if (request.pr !== null) {
    const check = await findActiveExecution(scope, request.pr);
    const goesOn = check.ended.length > 0 ? await onEnded(check.ended) : null;
    const active = check.active ?? goesOn;
    if (active) {
      await scope.forge.createComment(request.pr, busyText(active));
      return { kind: 'busy', holder: active };
    }
    const lock: DashboardLock = {
      execution: record.execution,
      status: 'starting',
      sha: record.sha,
      run: null,
      startedAt: record.startedAt,
    };
    const state = buildExecutionState(record, pending, { now, phase: 'running' });
    const claim = await claimExecution(
      scope,
      request.pr,
      dashboardBody(lock, state, { runUrl: null }, now),
      check.ignored,
    );
    if (!claim.won) return { kind: 'busy', holder: claim.holder };
    record.comment = claim.commentId;
  } else {
    const running = (await executionsOnCommit(scope, request.sha)).find(
      (e) => e.summary.status !== 'completed',
    );
    if (running) return { kind: 'busy', holder: null };
  }

  // The record and the dispatch go before other executions' details (reactions, check runs).
  const summary = await scope.forgeAt(WritePriority.record).createCheckRun({
    name: SUMMARY_CHECK_NAME,
    headSha: record.sha,
    externalId: record.execution,
    status: 'in_progress',
    output: runningSummary(record),
    actions: [CANCEL_ACTION],
  });
  const checks = new Map<string, CheckRunInfo>();
  for (const task of record.tasks) {
    const output = queuedOutput(task, !currentWave(record).includes(task.id));
    const created = await scope.forge.createCheckRun({
      name: taskCheckName(task),
      headSha: record.sha,
      externalId: taskExternalId(record.execution, task.id),
      status: 'queued',
      output,
    });
    checks.set(task.id, { ...pending.get(task.id)!, id: created.id });
  }
  const execution: ResolvedExecution = {
    record,
    summary: checkInfo(
      summary.id,
      SUMMARY_CHECK_NAME,
      record,
      null,
      'in_progress',
      runningSummary(record),
    ),
    checks,
  };

  let dispatched: { runId: number | null; url: string | null };
  try {
    dispatched = await scope.forgeAt(WritePriority.dispatch).dispatchWorkflow(
      record.workflow,
      record.ref,
      dispatchInputs(record, request.workflowInputs),
      { correlationId: waveCorrelationId(record) },
    );
  } catch (error) {
    const message = describeError(error);
    await failToStart(scope, execution, message);
    return { kind: 'not-dispatched', execution, error: message };
  }

  record.run = dispatched.runId;
  record.runUrl = dispatched.url;
  if (record.run !== null) {
    const output = runningSummary(record);
    await scope.forge.updateCheckRun(summary.id, {
      ...(record.runUrl ? { detailsUrl: record.runUrl } : {}),
      output,
    });
    execution.summary = {
      ...execution.summary,
      outputSummary: output.summary,
      outputTitle: output.title,
    };
  }
  const inexact = request.namedTasks && !request.workflowInputs.has('tasks');
  await writeDashboard(scope, execution, {
    phase: 'running',
    note: inexact
      ? `ℹ️ The workflow declares no \`tasks\` input, so it runs the pending tasks of ${record.group === 'all' ? 'the plan' : `group ${record.group}`}, not only ${record.tasks.map((t) => t.id).join(', ')}.`
      : null,
  });
  return { kind: 'started', execution };
}

/** What the app will remember about the execution it is about to start. */
export function buildRecord(
  request: StartRequest,
  executionId: string,
  now: Date,
): ExecutionRecord {
  return {
    v: 1,
    execution: executionId,
    pr: request.pr,
    ref: request.ref,
    sha: request.sha,
    group: request.group,
    plan: request.planPath,
    planTitle: request.plan.title,
    workflow: request.workflow,
    run: null,
    runUrl: null,
    comment: null,
    startedAt: now.toISOString(),
    startedBy: request.startedBy,
    tasks: request.tasks.map(recordedTask),
    wave: 1,
    // The first wave: what the workflow's plan job will pick from the same plan.
    waveTasks: pickWave(
      request.plan,
      request.tasks.map((t) => t.id),
    ).ready,
    pastRuns: [],
    waveStartedAt: now.toISOString(),
  };
}

/**
 * The workflow's inputs, limited to those it declares (GitHub refuses others). Ids only: the
 * workflow reads task details from the plan at the same commit, which `ref` pins (a later wave's
 * `ref` is the integration branch, where the earlier waves' work and statuses are).
 */
export function dispatchInputs(
  record: ExecutionRecord,
  declared: ReadonlySet<string>,
  ref: string = record.sha,
): Record<string, string> {
  const candidates: Record<string, string> = {
    'execution-id': record.execution,
    // Shown in the run's name, so the run can be found when the dispatch answers 204.
    'correlation-id': waveCorrelationId(record),
    group: record.group,
    // This wave's tasks exactly: the app starts each wave itself.
    tasks: currentWave(record).join(','),
    'pr-number': record.pr === null ? '' : String(record.pr),
    plan: record.plan,
    ref,
  };
  return Object.fromEntries(Object.entries(candidates).filter(([name]) => declared.has(name)));
}

async function failToStart(
  scope: Scope,
  execution: ResolvedExecution,
  message: string,
): Promise<void> {
  const { record } = execution;
  scope.log.error('workflow dispatch failed', { execution: record.execution, error: message });
  await cancelTaskChecks(scope, execution, {
    title: 'Not started',
    summary: `The workflow could not be started: ${message}`,
  });
  await scope.forge.updateCheckRun(execution.summary.id, {
    status: 'completed',
    conclusion: 'failure',
    output: {
      title: 'The workflow could not be started',
      summary: `${execution.summary.outputSummary ?? ''}\n\n**Dispatch failed**: ${message}`,
    },
  });
  await writeDashboard(scope, execution, {
    phase: 'failed',
    note: `❌ **The workflow \`${record.workflow}\` could not be started**: ${message}`,
  });
}

export function describeError(error: unknown): string {
  if (error instanceof ParallelExecutorError) {
    return `${error.message}${error.hint ? ` ${error.hint}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function recordedTask(task: Task): RecordedTask {
  return {
    id: task.id,
    title: task.title,
    agent: task.agents[0] ?? 'agent',
    agents: task.agents,
    group: task.group,
    dependsOn: task.dependsOn,
    estimateHours: task.estimateHours,
  };
}

function pendingChecks(record: ExecutionRecord): Map<string, CheckRunInfo> {
  return new Map(
    record.tasks.map((task) => [
      task.id,
      checkInfo(
        0,
        taskCheckName(task),
        record,
        taskExternalId(record.execution, task.id),
        'queued',
        queuedOutput(task, !currentWave(record).includes(task.id)),
      ),
    ]),
  );
}

function checkInfo(
  id: number,
  name: string,
  record: ExecutionRecord,
  externalId: string | null,
  status: CheckRunInfo['status'],
  output: { title: string; summary: string },
): CheckRunInfo {
  return {
    id,
    name,
    headSha: record.sha,
    status,
    conclusion: null,
    externalId: externalId ?? record.execution,
    detailsUrl: null,
    url: null,
    outputTitle: output.title,
    outputSummary: output.summary,
  };
}
