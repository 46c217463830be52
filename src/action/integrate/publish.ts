/**
 * What the integrate job tells GitHub when no app does it: each task's check run completed (when
 * the plan job created them), the integration PR opened or updated, and the report upserted as
 * one comment on the originating PR, found again by its hidden marker and capped below GitHub's
 * size limit with a note on what was cut.
 */
import type { ExecutionState, TaskRun } from '../../engine/monitor/state.js';
import type { Logger } from '../../engine/ports/logger.js';
import type { CheckRunInput } from '../../engine/ports/forge.js';
import { mdCode, mdTable, mdText } from '../../engine/report/markdown.js';
import {
  integrationFate,
  taskOutcome,
  TASK_OUTCOME_LABEL,
  type IntegrationFate,
} from '../../engine/report/outcome.js';
import { taskUsage, usageText } from '../../engine/report/usage.js';
import { GitHubApiError } from '../../forge/errors.js';
import type { RepoForge } from '../../forge/types.js';
import { taskCheckRunName } from '../modes/plan.js';

type Conclusion = NonNullable<CheckRunInput['conclusion']>;

/** The comment's marker key, the same the app uses: one report comment per execution. */
export function reportMarkerKey(executionId: string): string {
  return `report-${executionId}`;
}

export async function completeTaskCheckRuns(
  forge: RepoForge,
  state: ExecutionState,
  headSha: string,
  logger: Logger,
): Promise<number> {
  let runs;
  try {
    runs = await forge.listCheckRuns(headSha);
  } catch (error) {
    if (error instanceof GitHubApiError && error.status === 403) {
      logger.warn('cannot read check runs with this token; leaving them', { status: 403 });
      return 0;
    }
    throw error;
  }
  let completed = 0;
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    const check = runs.find(
      (c) => c.externalId === `${state.execution_id}:${id}` && c.name === taskCheckRunName(id),
    );
    if (!check || check.status === 'completed') continue;
    const { conclusion, title } = verdict(run, state);
    await forge.updateCheckRun(check.id, {
      status: 'completed',
      conclusion,
      output: { title, summary: taskSummary(run, state) },
    });
    completed += 1;
  }
  return completed;
}

function verdict(run: TaskRun, state: ExecutionState): { conclusion: Conclusion; title: string } {
  const fate = fateOf(run.task_id, state);
  if (fate.kind === 'merged')
    return { conclusion: 'success', title: `Merged into ${state.integration!.branch}` };
  if (fate.kind === 'conflict') return { conclusion: 'failure', title: 'Merge conflict' };
  if (fate.kind === 'dropped') return { conclusion: 'failure', title: 'Not integrated' };
  return { conclusion: 'failure', title: TASK_OUTCOME_LABEL[taskOutcome(run, state.integration)] };
}

/** The engine's fate, except that a conflict (also listed as dropped) is called a conflict. */
function fateOf(taskId: string, state: ExecutionState): IntegrationFate {
  const conflict = state.integration?.conflicts.find((c) => c.taskId === taskId);
  return conflict
    ? { kind: 'conflict', files: conflict.files, with: conflict.with }
    : integrationFate(taskId, state.integration);
}

function taskSummary(run: TaskRun, state: ExecutionState): string {
  const fate = fateOf(run.task_id, state);
  const lines = [
    `**Task ${mdText(run.task_id)}**: ${mdText(run.task)}  `,
    `Agent: ${mdText(run.agent)} · ${TASK_OUTCOME_LABEL[taskOutcome(run, state.integration)]}`,
    '',
  ];
  if (run.reason) lines.push(`Reason: ${mdText(run.reason, 500)}`, '');
  if (fate.kind === 'conflict')
    lines.push(
      `Conflicts in ${fate.files.map((f) => mdCode(f)).join(', ') || 'unknown files'}.`,
      '',
    );
  if (fate.kind === 'dropped') lines.push(`Not integrated: ${mdText(fate.reason, 300)}.`, '');
  if (run.validation) {
    lines.push(
      ...mdTable(
        ['check', 'result', 'note'],
        run.validation.checks.map((c) => [
          c.name,
          c.skipped ? 'skipped' : c.passed ? '✅ passed' : c.critical ? '❌ failed' : '⚠️ failed',
          mdText(c.note ?? '', 160),
        ]),
      ),
      '',
    );
  }
  if (run.metrics) {
    lines.push(
      `${run.metrics.files_modified} file(s), +${run.metrics.lines_added} −${run.metrics.lines_removed}`,
    );
  }
  const usage = taskUsage(run);
  lines.push(
    '',
    `Tokens / cost: ${usage === null ? 'not reported by the agent' : usageText(usage)}`,
  );
  return lines.join('\n');
}

export interface PullRequestInput {
  forge: RepoForge;
  state: ExecutionState;
  base: string;
  planLabel: string;
  runUrl: string | null;
  reportPath: string | null;
  pullRequest: number | null;
}

export async function openIntegrationPullRequest(
  input: PullRequestInput,
): Promise<{ number: number; url: string }> {
  const { state } = input;
  const integration = state.integration!;
  const scope = state.parallel_group === 'all' ? 'all groups' : `group ${state.parallel_group}`;
  const merged = integration.merged.map(
    (id) => `- ${mdText(id)}: ${mdText(state.tasks[id]?.task ?? '')}`,
  );
  const body = [
    `Integration of parallel-executor execution ${mdCode(state.execution_id)} (${mdText(scope)}).`,
    '',
    '**Merged**',
    ...merged,
    ...(integration.conflicts.length > 0
      ? [
          '',
          `**Not merged** (conflicts): ${integration.conflicts.map((c) => mdText(c.taskId)).join(', ')}`,
        ]
      : []),
    '',
    [
      input.reportPath ? `Report: ${mdCode(input.reportPath)}` : null,
      input.pullRequest !== null ? `for #${input.pullRequest}` : null,
      input.runUrl ? `[workflow run](${input.runUrl})` : null,
    ]
      .filter(Boolean)
      .join(' · '),
  ].join('\n');
  return input.forge.upsertPullRequest({
    head: integration.branch,
    base: input.base,
    title: `parallel-executor: ${input.planLabel} (${scope})`.replace(/\s+/g, ' ').slice(0, 240),
    body,
  });
}

export function reportComment(
  report: string,
  executionId: string,
  links: { runUrl: string | null; pullRequest: { number: number } | null },
): string {
  const parts = [
    links.runUrl ? `[Workflow run](${links.runUrl})` : null,
    links.pullRequest ? `Integration PR #${links.pullRequest.number}` : null,
  ].filter(Boolean);
  return `${report.trimEnd()}\n\n<sub>Execution ${mdCode(executionId)}${parts.length ? ` · ${parts.join(' · ')}` : ''}</sub>\n`;
}
