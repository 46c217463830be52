/**
 * What each command does once the commenter is authorised and the PR and config are known.
 * Replies are comments on the PR; starting work goes through `startExecution`.
 */
import { mdCode, mdSha, mdText } from '../../engine/report/markdown.js';
import type { Config } from '../../engine/config/schema.js';
import type { PullRequestInfo } from '../../forge/types.js';
import { closeWithoutRun, finalizeEnded } from '../execution/recover.js';
import { findActiveExecution } from '../execution/lock.js';
import { resolveExecution } from '../execution/resolve.js';
import {
  buildRecord,
  dispatchInputs,
  startExecution,
  type StartRequest,
  type StartResult,
} from '../execution/start.js';
import { taskStatusOf } from '../execution/state.js';
import { currentWave, waveLabel } from '../execution/waves.js';
import { diagnosticsComment, planCheckRun, PLAN_DIAGNOSTICS_MARKER } from '../plan/check-report.js';
import { loadPlan } from '../plan/load.js';
import {
  missingWorkflowText,
  readWorkflow,
  workflowPath,
  workflowTakesCommentsText,
  type WorkflowInfo,
} from '../../forge/workflow.js';
import { UsageError } from '../../engine/errors.js';
import {
  nothingLeftHint,
  nothingToRun,
  selectTasks,
  WAVE_SELECTION,
  type Selection,
} from '../../engine/schedule/select.js';
import type { Scope } from '../scope.js';
import type { CommentCommand } from '../../forge/comment-command.js';

export interface CommandTarget {
  pr: PullRequestInfo;
  config: Config;
  requester: string;
  defaultBranch: string;
}

export async function executeCommand(
  scope: Scope,
  command: CommentCommand,
  target: CommandTarget,
): Promise<void> {
  switch (command.kind) {
    case 'run':
    case 'retry': {
      const workflow = await readWorkflow(
        scope.forge,
        target.config.github.workflow,
        target.defaultBranch,
      );
      if (workflow?.onComments) {
        await scope.forge.createComment(
          target.pr.number,
          workflowTakesCommentsText(workflow.path, target.defaultBranch),
        );
        return;
      }
      if (command.kind === 'run')
        await runTasks(scope, target, command.group, null, command.dryRun, workflow);
      else await runTasks(scope, target, 'all', [command.taskId], false, workflow);
      return;
    }
    case 'status':
      await replyStatus(scope, target);
      return;
    case 'cancel':
      await cancelRunning(scope, target);
      return;
    case 'help':
      return;
  }
}

/** Load and check the plan at the PR head, pick the tasks, and start (or describe) the execution. */
export async function runTasks(
  scope: Scope,
  target: CommandTarget,
  group: string,
  onlyIds: string[] | null,
  dryRun: boolean,
  /** The workflow when the caller has read it already (null: not on the default branch). */
  known?: WorkflowInfo | null,
): Promise<StartResult | null> {
  const { pr, config } = target;
  const plan = await loadPlan(scope, config.plan, pr.headSha);
  if (plan.kind === 'missing') {
    await scope.forge.createComment(
      pr.number,
      `❌ There is no plan at \`${config.plan}\` on ${mdCode(pr.headRef)} (${mdSha(pr.headSha)}), so nothing was started. Add it, or set \`plan:\` in \`.github/parallel-executor.yml\` on the default branch.`,
    );
    return null;
  }
  if (plan.kind === 'invalid') {
    await scope.forge.createCheckRun(planCheckRun(pr.headSha, plan));
    await scope.forge.upsertComment(
      pr.number,
      PLAN_DIAGNOSTICS_MARKER,
      diagnosticsComment(plan.path, pr.headSha, plan.diagnostics),
    );
    return null;
  }
  let selection: Selection;
  try {
    selection = selectTasks(plan.plan, { group, tasks: onlyIds }, WAVE_SELECTION);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await scope.forge.createComment(
      pr.number,
      `Nothing was started: ${mdText(error.message)}.${error.hint ? ` ${mdText(error.hint)}` : ''}`,
    );
    return null;
  }
  // A run whose plan job would find nothing to run is not worth dispatching: say why instead.
  if (selection.tasks.length === 0) {
    await scope.forge.createComment(
      pr.number,
      `Nothing was started: ${mdText(nothingToRun(selection))} (in the plan at ${mdCode(pr.headRef)}, ${mdSha(pr.headSha)}). ${
        nothingLeftHint(selection) ??
        'Run what they wait for first, or name a task to run it again: `/parallel-run retry <task>`.'
      }`,
    );
    return null;
  }
  const workflow =
    known !== undefined
      ? known
      : await readWorkflow(scope.forge, config.github.workflow, target.defaultBranch);
  if (workflow === null) {
    await scope.forge.createComment(
      pr.number,
      missingWorkflowText(workflowPath(config.github.workflow), target.defaultBranch),
    );
    return null;
  }
  const request: StartRequest = {
    pr: pr.number,
    ref: pr.headRef,
    sha: pr.headSha,
    workflow: config.github.workflow,
    planPath: config.plan,
    plan: plan.plan,
    group: selection.group,
    tasks: selection.tasks,
    namedTasks: onlyIds !== null,
    workflowInputs: workflow.inputs,
    startedBy: target.requester,
    writeBack: config.github.writeBackToPr,
  };
  if (dryRun) {
    await scope.forge.createComment(pr.number, dryRunText(request, scope.deps.clock.now()));
    return null;
  }
  return scope.deps.mutex.run(`${scope.owner}/${scope.repo}#${pr.number}`, () =>
    startExecution(scope, request, (ended) => finalizeEnded(scope, ended, config)),
  );
}

function dryRunText(request: StartRequest, now: Date): string {
  const record = buildRecord(request, '<new execution id>', now);
  const inputs = dispatchInputs(record, request.workflowInputs);
  return [
    `🧪 **Dry run**: nothing was started. \`/parallel-run${record.group === 'all' ? '' : ` ${record.group}`}\` would run ${record.tasks.length} task(s) of \`${record.plan}\` at ${mdSha(record.sha)}:`,
    '',
    '| Task | Agent | Depends on | Title |',
    '|---|---|---|---|',
    ...record.tasks.map(
      (t) =>
        `| ${mdText(t.id)} | ${mdText(t.agents.join(', ') || '—')} | ${mdText(t.dependsOn.join(', ') || '—')} | ${mdText(t.title)} |`,
    ),
    '',
    ...(waveLabel(record)
      ? [
          `It would run in waves: first ${currentWave(record).join(', ')}; each later wave starts when the one before lands cleanly.`,
          '',
        ]
      : []),
    `It would create ${record.tasks.length + 1} check runs and dispatch \`${record.workflow}\` on ${mdCode(record.ref)} with:`,
    '',
    '```json',
    JSON.stringify(inputs, null, 2),
    '```',
  ].join('\n');
}

async function replyStatus(scope: Scope, target: CommandTarget): Promise<void> {
  const running = await runningExecution(
    scope,
    target,
    'No execution is running on this pull request. Start one with `/parallel-run`.',
  );
  if (!running) return;
  const { active, execution } = running;
  const counts = new Map<string, number>();
  for (const task of execution?.record.tasks ?? []) {
    const status = taskStatusOf(execution?.checks.get(task.id));
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const parts = [...counts.entries()].map(([status, n]) => `${n} ${status.replace('_', ' ')}`);
  await scope.forge.createComment(
    target.pr.number,
    `🔄 Execution \`${active.lock.execution}\` is running${execution && waveLabel(execution.record) ? ` (${waveLabel(execution.record)!.toLowerCase()})` : ''}${parts.length ? `: ${parts.join(', ')}` : ''}. [Dashboard](${active.url})${execution?.record.runUrl ? ` · [Workflow run](${execution.record.runUrl})` : ''}`,
  );
}

export async function cancelRunning(scope: Scope, target: CommandTarget): Promise<void> {
  const running = await runningExecution(
    scope,
    target,
    'No execution is running on this pull request; nothing to cancel.',
  );
  if (!running?.execution) return;
  const { active, execution } = running;
  await cancelExecution(scope, execution, target.requester);
  await scope.forge.createComment(
    target.pr.number,
    `⏹️ Cancelling execution \`${execution.record.execution}\`. The [dashboard](${active.url}) shows when it has stopped.`,
  );
}

/** The execution running on the PR (its lock and its record), or null once the PR was told so. */
async function runningExecution(scope: Scope, target: CommandTarget, noneText: string) {
  const { active } = await findActiveExecution(scope, target.pr.number);
  if (!active) {
    await scope.forge.createComment(target.pr.number, noneText);
    return null;
  }
  const execution = await resolveExecution(scope, active.lock.sha, active.lock.execution);
  return { active, execution };
}

/** Cancel the execution's workflow run; with none yet, close it here. */
export async function cancelExecution(
  scope: Scope,
  execution: NonNullable<Awaited<ReturnType<typeof resolveExecution>>>,
  requester: string,
): Promise<void> {
  if (execution.record.run !== null) {
    // The run's completion event (conclusion `cancelled`) finalises it; a 409 means it had
    // already ended, and that event finalises it too.
    await scope.api.cancelRun(execution.record.run);
    return;
  }
  await closeWithoutRun(
    scope,
    execution,
    `Cancelled by @\u200b${requester} before the workflow ran.`,
  );
}
