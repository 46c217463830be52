/**
 * What the publish job tells GitHub when no app does it: each task's check run completed (when
 * the plan job created them). The check run's result, the integration PR and the report comment
 * are the ones the App writes: src/github-run.
 */
import type { ExecutionState, TaskRun } from '../../engine/state/schema.js';
import type { Logger } from '../../engine/ports/logger.js';
import { mdText } from '../../engine/report/markdown.js';
import { GitHubApiError } from '../../forge/errors.js';
import { taskResult, type Conclusion } from '../../github-run/task-result.js';
import type { RepoForge } from '../../forge/types.js';
import { taskCheckName } from '../../forge/check-names.js';

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
    // The plan job made the task's check run before any agent ran: the first of that name and id.
    // One made later (by a job that ran agent-written code with a checks token) is not it.
    const check = runs
      .filter(
        (c) =>
          c.externalId === `${state.execution_id}:${id}` &&
          c.name === taskCheckName({ id, title: run.task }),
      )
      .sort((a, b) => a.id - b.id)[0];
    if (!check || check.status === 'completed') continue;
    const { conclusion, title, summary } = taskOutput(run, state);
    await forge.updateCheckRun(check.id, {
      status: 'completed',
      conclusion,
      output: { title, summary },
    });
    completed += 1;
  }
  return completed;
}

/** The shared result under a header from the task's run (the App's header comes from its record). */
function taskOutput(
  run: TaskRun,
  state: ExecutionState,
): { conclusion: Conclusion; title: string; summary: string } {
  const result = taskResult(run, state.integration);
  const header = `**Task ${mdText(run.task_id)}**: ${mdText(run.task)}  \nAgent: ${mdText(run.agent)}`;
  return {
    conclusion: result.conclusion,
    title: result.title,
    summary: [header, '', ...result.lines].join('\n').trimEnd(),
  };
}
