import type { ExecutionState } from '../state/schema.js';
import { mdCode, mdText, shellArg } from './markdown.js';
import {
  integrationFate,
  isNeutralSkip,
  needsAttention,
  orderedTasks,
  hasLanded,
} from './outcome.js';

export interface NextGroup {
  id: string;
  title: string | null;
}

/** "Next Steps": a checklist with the exact commands to run. */
export function renderNextSteps(state: ExecutionState, nextGroup: NextGroup | null): string[] {
  const steps: string[] = [];
  const integration = state.integration;
  const running = state.status === 'pending' || state.status === 'in_progress';
  if (integration !== null && integration.merged.length > 0) {
    steps.push(`Code review the integration branch ${mdCode(integration.branch)}`);
    steps.push(`Merge ${mdCode(integration.branch)} into ${mdCode(state.base_ref)}`);
  }
  const tasks = orderedTasks(state);
  for (const conflict of integration?.conflicts ?? []) {
    const task = state.tasks[conflict.taskId];
    if (task === undefined || integration === null) continue;
    const command = `git switch ${shellArg(integration.branch)} && git merge --no-ff ${shellArg(task.branch)}`;
    steps.push(`Resolve the conflict of ${mdText(task.task_id, 40)} by hand: ${mdCode(command)}`);
  }
  const unfinished = tasks.filter(
    (task) => !hasLanded(task, integration) && !isNeutralSkip(task, state),
  );
  const retry = unfinished.filter(
    (task) => integrationFate(task.task_id, integration).kind !== 'conflict',
  );
  if (state.status === 'cancelled') {
    steps.push(
      `Resume the interrupted execution: ${mdCode(`parallel-executor resume ${shellArg(state.execution_id)}`)}`,
    );
  } else if (!running && retry.length > 0) {
    const ids = retry.map((task) => mdText(task.task_id, 40)).join(', ');
    const command = `parallel-executor run --plan ${shellArg(state.plan_file)} --group ${shellArg(state.parallel_group)}`;
    steps.push(
      `Fix and re-run the tasks that did not land (${ids}): ${mdCode(command)} (tasks already marked completed in the plan are not re-run, so merge the integration branch first)`,
    );
  }
  if (!running) {
    const kept = tasks.filter((task) => needsAttention(task, integration)).length;
    const keptNote =
      kept > 0
        ? ` (keeps the worktrees and branches of the ${kept} task(s) that need attention; \`--force\` removes them too)`
        : '';
    steps.push(
      `Clean up worktrees and merged branches: ${mdCode(`parallel-executor clean ${shellArg(state.execution_id)}`)}${keptNote}`,
    );
  }
  if (nextGroup !== null) {
    const title = nextGroup.title === null ? '' : ` (${mdText(nextGroup.title, 80)})`;
    const command = `parallel-executor run --plan ${shellArg(state.plan_file)} --group ${shellArg(nextGroup.id)}`;
    steps.push(`Start parallel group ${mdText(nextGroup.id, 40)}${title}: ${mdCode(command)}`);
  } else if (!running && state.parallel_group !== 'all') {
    steps.push(`Start the next parallel group of ${mdCode(state.plan_file)}`);
  }
  return ['## Next Steps', '', ...steps.map((step) => `- [ ] ${step}`), ''];
}
