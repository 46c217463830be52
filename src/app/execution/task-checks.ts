/**
 * Writing a task's check run: the latest state wins, through the coalescer, one write per task at
 * a time. A task's check run is created when there is something to say and in the state it has
 * by then: a queued task waits a while for its job to start (and is then created running), a
 * job's own end waits a while for the run's end (whose final word replaces it), and the final
 * word is written at once. So a task usually costs two writes, not four, and users still see
 * every state that lasts. What is not written yet lives in the execution (`LiveExecutions`).
 */
import type { CheckRunInfo, CheckRunInput, CheckRunOutput } from '../../forge/types.js';
import { taskCheckName } from '../../forge/check-names.js';
import type { Scope } from '../scope.js';
import { taskExternalId } from './id.js';
import type { ExecutionRecord, RecordedTask } from './record.js';
import type { ResolvedExecution } from './resolve.js';
import { queuedOutput } from './task-output.js';
import { currentWave } from './waves.js';

export interface TaskCheckUpdate {
  status: CheckRunInput['status'];
  conclusion?: CheckRunInput['conclusion'];
  detailsUrl?: string;
  output: CheckRunOutput;
}

/** How soon a state is written: `final` at once (and waited for), the others coalesced. */
export type Urgency = 'queued' | 'running' | 'finished' | 'final';

/** A task whose check run is not created yet (id 0), queued or waiting for a later wave. */
export function placeholderCheck(record: ExecutionRecord, task: RecordedTask): CheckRunInfo {
  const output = queuedOutput(task, !currentWave(record).includes(task.id));
  return {
    id: 0,
    name: taskCheckName(task),
    headSha: record.sha,
    status: 'queued',
    conclusion: null,
    externalId: taskExternalId(record.execution, task.id),
    detailsUrl: null,
    url: null,
    outputTitle: output.title,
    outputSummary: output.summary,
  };
}

/** Every task of the record has a check run entry (a placeholder when none is on GitHub yet). */
export function withPlaceholders(execution: ResolvedExecution): ResolvedExecution {
  for (const task of execution.record.tasks) {
    if (!execution.checks.has(task.id))
      execution.checks.set(task.id, placeholderCheck(execution.record, task));
  }
  return execution;
}

/**
 * Show `update` on the task's check run: in this process's copy at once (the dashboard draws from
 * it), on GitHub as `urgency` says. `keepSummary`: the copy keeps its summary, where the task's
 * hidden times are.
 */
export async function showTaskCheck(
  scope: Scope,
  execution: ResolvedExecution,
  taskId: string,
  update: TaskCheckUpdate,
  urgency: Urgency,
  options: { keepSummary?: boolean } = {},
): Promise<void> {
  const check = execution.checks.get(taskId);
  if (check) {
    execution.checks.set(taskId, {
      ...check,
      status: update.status,
      conclusion: update.conclusion ?? null,
      detailsUrl: update.detailsUrl ?? check.detailsUrl,
      outputTitle: update.output.title,
      outputSummary: options.keepSummary ? check.outputSummary : update.output.summary,
    });
  }
  await writeTaskCheck(scope, execution, taskId, update, urgency);
  // The final word replaces what the task's repair leg showed, on its own check run too.
  const repair = urgency === 'final' ? execution.repairs?.get(taskId) : undefined;
  if (repair && repair.id !== 0) {
    const { status, conclusion, detailsUrl, output } = update;
    execution.repairs!.set(taskId, {
      ...repair,
      status,
      conclusion: conclusion ?? null,
      outputTitle: output.title,
      outputSummary: output.summary,
    });
    await scope.forge.updateCheckRun(repair.id, {
      status,
      ...(conclusion ? { conclusion } : {}),
      ...(detailsUrl ? { detailsUrl } : {}),
      output,
    });
  }
}

/** Ask for the task's check run to show `update`; a `final` one is written before this returns. */
export async function writeTaskCheck(
  scope: Scope,
  execution: ResolvedExecution,
  taskId: string,
  update: TaskCheckUpdate,
  urgency: Urgency,
): Promise<void> {
  const key = writeKey(scope, execution, taskId);
  const { deps } = scope;
  const delay = {
    queued: deps.checkRunQueuedDelayMs,
    running: deps.checkRunDelayMs,
    finished: deps.checkRunFinishedDelayMs,
    final: 0,
  }[urgency];
  deps.checkWrites.schedule(key, () => send(scope, execution, taskId, update), delay);
  if (urgency === 'final') await deps.checkWrites.flush(key);
}

/** Write what is waiting for the task's check run now (the run ended: nothing better will come). */
export function flushTaskCheck(
  scope: Scope,
  execution: ResolvedExecution,
  taskId: string,
): Promise<void> {
  return scope.deps.checkWrites.flush(writeKey(scope, execution, taskId));
}

function writeKey(scope: Scope, execution: ResolvedExecution, taskId: string): string {
  return `${scope.owner}/${scope.repo}:${execution.record.execution}:${taskId}`;
}

async function send(
  scope: Scope,
  execution: ResolvedExecution,
  taskId: string,
  update: TaskCheckUpdate,
): Promise<void> {
  const check = execution.checks.get(taskId);
  const task = execution.record.tasks.find((t) => t.id === taskId);
  if (!check || !task) return;
  const fields = {
    status: update.status,
    ...(update.conclusion ? { conclusion: update.conclusion } : {}),
    ...(update.detailsUrl ? { detailsUrl: update.detailsUrl } : {}),
    output: update.output,
  };
  if (check.id !== 0) {
    await scope.forge.updateCheckRun(check.id, fields);
    return;
  }
  const created = await scope.forge.createCheckRun({
    name: taskCheckName(task),
    headSha: execution.record.sha,
    externalId: taskExternalId(execution.record.execution, taskId),
    ...fields,
  });
  execution.checks.set(taskId, { ...(execution.checks.get(taskId) ?? check), id: created.id });
}
