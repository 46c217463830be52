/**
 * The integration PR of a run: from the integration branch into the branch the run started from,
 * opened (or updated: one per head) by whichever shell publishes the run — the Action on its own,
 * the App when it manages the run. Its title and body come from the execution's state (all waves
 * combined, for the App).
 */
import type { InteractionRisk } from '../engine/integrate/schema.js';
import { riskText } from '../engine/report/integration-section.js';
import type { ExecutionState } from '../engine/state/schema.js';
import type { PullRequestInput } from '../forge/types.js';
import { formatCost, formatDuration } from '../engine/format.js';
import { mdCode, mdTable, mdText } from '../engine/report/markdown.js';
import {
  orderedTasks,
  TASK_OUTCOME_LABEL,
  taskDurationMs,
  taskOutcome,
} from '../engine/report/outcome.js';
import { taskUsage } from '../engine/report/usage.js';
import { budgetLines } from '../engine/report/budget.js';
import { repairLine } from '../engine/report/repairs.js';

/** GitHub allows 256 characters in a PR title. */
const TITLE_MAX = 240;

export interface IntegrationPullRequestInput {
  /** With an integration that merged something. */
  state: ExecutionState;
  /** The branch the run started from. */
  base: string;
  /** The plan's title, or its file. */
  planLabel: string;
  /** What the run was asked to run: a group id, or `all`. */
  group: string;
  /** The PR the run was started from, when it was. */
  pullRequest: number | null;
  runUrl: string | null;
}

function budgetBlock(state: ExecutionState): string[] {
  const lines = budgetLines(state);
  return lines.length === 0 ? [] : ['', '**Budget**', ...lines];
}

/** Pairs that merged cleanly but may break each other: worth a reviewer's look. */
function riskSection(risks: readonly InteractionRisk[]): string[] {
  if (risks.length === 0) return [];
  return [
    '',
    '**Interaction risks** (merge cleanly, may still break each other)',
    ...risks.map(
      (risk) => `- ${mdCode(risk.tasks[0])} ↔ ${mdCode(risk.tasks[1])}: ${riskText(risk)}`,
    ),
  ];
}

export function integrationPullRequest(input: IntegrationPullRequestInput): PullRequestInput {
  const { state } = input;
  const integration = state.integration!;
  const scope = input.group === 'all' ? 'all groups' : `group ${input.group}`;
  const conflicts = integration.conflicts.map((c) => mdCode(c.taskId));
  const repairs = (integration.repairs ?? []).map((r) => `- ${mdText(repairLine(r), 400)}`);
  const links = [
    state.report_path ? `Report: ${mdCode(state.report_path)}` : null,
    input.pullRequest !== null ? `Started on #${input.pullRequest}` : null,
    input.runUrl ? `[Workflow run](${input.runUrl})` : null,
  ].filter((link): link is string => link !== null);
  const body = [
    `Integration of parallel-executor execution ${mdCode(state.execution_id)} (${mdText(scope)}).`,
    '',
    '**Merged**',
    // What each task cost is in the table below.
    ...integration.merged.map((id) => `- ${mdCode(id)}: ${mdText(state.tasks[id]?.task ?? '')}`),
    ...(repairs.length > 0 ? ['', '**Repaired** (handed back to an agent)', ...repairs] : []),
    ...(conflicts.length > 0 ? ['', `**Not merged** (conflicts): ${conflicts.join(', ')}`] : []),
    '',
    // Every task's state, time and cost, in the words and figures of the report and the terminal.
    ...mdTable(
      ['Task', 'Status', 'Duration', 'Cost'],
      orderedTasks(state).map((task) => {
        const duration = taskDurationMs(task);
        const cost = taskUsage(task)?.costUsd ?? null;
        return [
          mdText(`${task.task_id} ${task.task}`, 80),
          TASK_OUTCOME_LABEL[taskOutcome(task, integration)],
          duration === null ? '—' : formatDuration(duration),
          cost === null ? 'not reported' : formatCost(cost),
        ];
      }),
    ),
    ...budgetBlock(state),
    ...riskSection(integration.risks ?? []),
    ...(links.length > 0 ? ['', links.join(' · ')] : []),
  ].join('\n');
  return {
    head: integration.branch,
    base: input.base,
    title: `parallel-executor: ${input.planLabel} (${scope})`
      .replace(/\s+/g, ' ')
      .slice(0, TITLE_MAX),
    body,
  };
}
