/**
 * What the publish job tells GitHub when no app does it: each task's check run completed (when
 * the plan job created them). The integration PR and the report comment are the same the App
 * writes: src/github-run.
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
import { GitHubApiError } from '../../forge/errors.js';
import type { RepoForge } from '../../forge/types.js';
import { taskCheckRunName } from '../modes/plan.js';

type Conclusion = NonNullable<CheckRunInput['conclusion']>;

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
  return { conclusion: 'failure', title: TASK_OUTCOME_LABEL[taskOutcome(run)] };
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
    `Agent: ${mdText(run.agent)} · ${TASK_OUTCOME_LABEL[taskOutcome(run)]}`,
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
    const cost = run.metrics.cost_usd === null ? '' : ` · $${run.metrics.cost_usd.toFixed(2)}`;
    lines.push(
      `${run.metrics.files_modified} file(s), +${run.metrics.lines_added} −${run.metrics.lines_removed}${cost}`,
    );
  }
  return lines.join('\n');
}
