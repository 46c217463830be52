/**
 * Starting an execution: take the PR's lock (the dashboard comment), create the summary check run
 * (which carries the record) and one queued check run per task, dispatch the workflow, then point
 * the record and the dashboard at the workflow run. Every step's state is in GitHub, so a crash
 * half-way leaves something the next `/parallel-run` can see and work around.
 */
import type { Plan, Task } from '../../engine/plan/schema.js';
import { ParallelExecutorError } from '../../engine/errors.js';
import { WritePriority } from '../../forge/policy.js';
import type { CheckRunInfo, CheckRunInput } from '../../forge/types.js';
import type { Scope } from '../scope.js';
import { cancelTaskChecks } from './cancel-checks.js';
import { busyText, type DashboardLock, dashboardBody } from './dashboard.js';
import { newExecutionId } from './id.js';
import { claimExecution, findActiveExecution, type LockedExecution } from './lock.js';
import { CANCEL_ACTION, SUMMARY_CHECK_NAME } from './names.js';
import type { ExecutionRecord, RecordedTask } from './record.js';
import { scheduleDashboard, writeDashboard } from './refresh.js';
import { executionsOnCommit, repositoryKey, type ResolvedExecution } from './resolve.js';
import { placeholderCheck, writeTaskCheck } from './task-checks.js';
import { buildExecutionState } from './state.js';
import { runningSummary } from './summary.js';
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
  /** The config's `github.writeBackToPr`, kept in the record for the execution's end. */
  writeBack: boolean;
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

  const execution: ResolvedExecution = {
    record,
    summary: checkInfo(0, SUMMARY_CHECK_NAME, record, null, 'in_progress', runningSummary(record)),
    // Created after the dispatch, when there is news or after a while (`task-checks.ts`).
    checks: pending,
  };
  // A push has no lock comment: its summary check run is the lock, so it comes first. A PR's
  // summary comes after the dispatch, in its final form, behind other executions' dispatches.
  if (request.pr === null) await writeSummary(scope, execution, {});

  let dispatched: { runId: number | null; url: string | null };
  try {
    dispatched = await scope
      .forgeAt(WritePriority.dispatch)
      .dispatchWorkflow(
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
  // Events of the run find the execution here even before its summary check run exists.
  scope.deps.live.put(repositoryKey(scope), execution);
  if (execution.summary.id === 0 || record.run !== null) await writeSummary(scope, execution, {});
  for (const task of record.tasks) {
    const check = pending.get(task.id)!;
    await writeTaskCheck(
      scope,
      execution,
      task.id,
      {
        status: 'queued',
        output: { title: check.outputTitle ?? '', summary: check.outputSummary ?? '' },
      },
      'queued',
    );
  }
  const inexact = request.namedTasks && !request.workflowInputs.has('tasks');
  // Drawn with the first news of the run (or after a while): the lock comment already shows it.
  scheduleDashboard(scope, record.sha, record.execution, {
    note: inexact
      ? `ℹ️ The workflow declares no \`tasks\` input, so it runs the pending tasks of ${record.group === 'all' ? 'the plan' : `group ${record.group}`}, not only ${record.tasks.map((t) => t.id).join(', ')}.`
      : null,
    delayMs: scope.deps.checkRunQueuedDelayMs,
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
    writeBack: request.writeBack,
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
  await writeSummary(scope, execution, {
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

/**
 * Create the summary check run (it carries the record) or bring it up to date: the running
 * summary with the run's link, unless `fields` says otherwise.
 */
export async function writeSummary(
  scope: Scope,
  execution: ResolvedExecution,
  fields: Partial<CheckRunInput>,
): Promise<void> {
  const { record } = execution;
  const output = fields.output ?? runningSummary(record);
  const update = {
    ...(record.runUrl ? { detailsUrl: record.runUrl } : {}),
    output,
    ...fields,
  };
  if (execution.summary.id === 0) {
    const created = await scope.forgeAt(WritePriority.record).createCheckRun({
      name: SUMMARY_CHECK_NAME,
      headSha: record.sha,
      externalId: record.execution,
      status: 'in_progress',
      actions: [CANCEL_ACTION],
      ...update,
    });
    execution.summary = { ...execution.summary, id: created.id };
  } else {
    await scope.forge.updateCheckRun(execution.summary.id, update);
  }
  execution.summary = {
    ...execution.summary,
    ...(update.status ? { status: update.status } : {}),
    outputTitle: output.title,
    outputSummary: output.summary,
  };
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
  return new Map(record.tasks.map((task) => [task.id, placeholderCheck(record, task)]));
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
