import type { ExecutionState } from '../state/schema.js';
import { shellArg } from './markdown.js';
import { integrationFate, orderedTasks, taskOutcome } from './outcome.js';

/** One thing to do about tasks that did not land, with the exact command. */
export interface RecoveryStep {
  what: string;
  /** The task ids it is about. */
  tasks: string[];
  command: string;
}

/**
 * What to do about the tasks that did not land, the same words in the terminal and the report:
 * a conflicting or dropped branch is merged by hand (its work is done); failed and cancelled
 * tasks run again with `resume --retry-failed` (resume also retries what they held back); an
 * integration that did not finish is finished by a plain `resume`, offered first.
 */
export function recoverySteps(state: ExecutionState): RecoveryStep[] {
  const steps: RecoveryStep[] = [];
  const integration = state.integration;
  const tasks = orderedTasks(state);
  for (const task of tasks) {
    if (integration === null || taskOutcome(task, integration) !== 'DROPPED') continue;
    const fate = integrationFate(task.task_id, integration);
    steps.push({
      what:
        fate.kind === 'conflict'
          ? `resolve the conflict of ${task.task_id} by hand`
          : `merge ${task.task_id} by hand after a fix`,
      tasks: [task.task_id],
      command: `git switch ${shellArg(integration.branch)} && git merge --no-ff ${shellArg(task.branch)}`,
    });
  }
  const failed = tasks
    .filter((task) => taskOutcome(task, integration) === 'FAILED')
    .map((task) => task.task_id);
  const id = shellArg(state.execution_id);
  const unintegrated = unfinishedIntegration(state);
  if (unintegrated.length > 0) {
    // Stopped (Ctrl-C) or broken off during integration: a plain resume integrates the tasks that
    // completed, without running any agent again; it comes before retrying anything.
    steps.push({
      what: `finish the integration of ${unintegrated.join(', ')}, which did not finish`,
      tasks: unintegrated,
      command: `parallel-executor resume ${id}`,
    });
  }
  // Stopped or not started by the budget (the run itself was not cancelled): a plain resume.
  const heldBack = tasks
    .filter((task) => ['NOT_STARTED', 'CANCELLED'].includes(taskOutcome(task, integration)))
    .map((task) => task.task_id);
  if (state.status === 'cancelled') {
    steps.push({
      what: 'resume the interrupted execution',
      tasks: [],
      command: `parallel-executor resume ${id}`,
    });
  } else if (heldBack.length > 0) {
    const retry = failed.length > 0 ? ` and retry ${failed.join(', ')} after a fix` : '';
    steps.push({
      what: `run ${heldBack.join(', ')} (held back by the budget)${retry}`,
      tasks: [...heldBack, ...failed],
      command: `parallel-executor resume ${id}${failed.length > 0 ? ' --retry-failed' : ''}`,
    });
  } else if (failed.length > 0) {
    steps.push({
      what: `retry ${failed.join(', ')} after a fix`,
      tasks: failed,
      command: `parallel-executor resume ${id} --retry-failed`,
    });
  }
  return steps;
}

/**
 * The completed tasks of an execution that ended (not cancelled: its own step says resume) with an
 * integration started but no result: it was stopped or failed before its end, and `resume` runs it
 * again.
 */
function unfinishedIntegration(state: ExecutionState): string[] {
  if (state.status !== 'failed' || state.integration !== null) return [];
  if (state.integration_progress == null) return [];
  return state.task_order.filter((id) => state.tasks[id]!.status === 'completed');
}
