import type { ExecutionState } from '../state/schema.js';
import { mdCode, mdText, shellArg } from './markdown.js';
import { needsAttention, orderedTasks } from './outcome.js';
import { recoverySteps } from './recovery.js';

export interface NextGroup {
  id: string;
  title: string | null;
}

/**
 * "Next Steps": a checklist with the exact commands to run. `cleansUp`: the run cleans up right
 * after the report is written, so `parallel-executor clean` is not a step left to the reader (it
 * answered "0 removed, 12 already gone").
 */
export function renderNextSteps(
  state: ExecutionState,
  nextGroup: NextGroup | null,
  cleansUp = false,
): string[] {
  const steps: string[] = [];
  const integration = state.integration;
  const running = state.status === 'pending' || state.status === 'in_progress';
  if (integration !== null && integration.merged.length > 0) {
    steps.push(`Code review the integration branch ${mdCode(integration.branch)}`);
    steps.push(`Merge ${mdCode(integration.branch)} into ${mdCode(state.base_ref)}`);
  }
  const tasks = orderedTasks(state);
  if (!running) {
    for (const step of recoverySteps(state)) {
      steps.push(`${capitalise(mdText(step.what, 200))}: ${mdCode(step.command)}`);
    }
  }
  if (!running && !cleansUp) {
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

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
