/**
 * Did a wave land cleanly? The next wave builds on this one's integration branch, so it starts
 * only when every task of the wave completed and was merged, no merge conflicted, nothing was
 * dropped and the integration tests did not fail. One rule for the workflow's publish job
 * (which dispatches the next wave itself) and the app (which dispatches it when it manages the
 * run): they see the same state, so they must decide the same.
 */
import type { ExecutionState } from '../state/schema.js';

export interface WaveEnd {
  /** The wave's state as its integration wrote it; null when the run left none. */
  state: ExecutionState | null;
  /**
   * How each task's job ended, when the caller knows (the app reads GitHub's job conclusions):
   * a job that did not succeed is a task that did not complete, state or no state.
   */
  taskConclusions?: ReadonlyMap<string, string>;
  /** The workflow run's conclusion once it ended; the publish job runs before it has one. */
  runConclusion?: string | null;
  /** The tasks the wave ran; default: the state's. A state that reports more judges only these. */
  wave?: readonly string[];
  /** Where the state should have come from, named when it is missing (an artifact). */
  stateSource?: string;
}

/** What kept the wave from landing cleanly, one phrase each; empty when it landed. */
export function landingProblems(end: WaveEnd): string[] {
  const { state } = end;
  const integration = state?.integration ?? null;
  const conflicts = integration?.conflicts.map((c) => c.taskId) ?? [];
  const dropped = (integration?.dropped ?? [])
    .map((d) => d.taskId)
    .filter((id) => !conflicts.includes(id));
  const explained = new Set([...conflicts, ...dropped]);
  const failedJobs = [...(end.taskConclusions ?? [])]
    .filter(([, conclusion]) => conclusion !== 'success')
    .map(([id]) => id);
  const wave = end.wave ?? state?.task_order ?? [];
  // Without a state only the jobs' conclusions tell what completed.
  const notCompleted =
    state === null ? [] : wave.filter((id) => state.tasks[id]?.status !== 'completed');
  const failed = unique([...failedJobs, ...notCompleted]).filter((id) => !explained.has(id));
  // Completed but neither merged nor reported as dropped: still not on the integration branch.
  const unmerged = wave.filter(
    (id) =>
      integration !== null &&
      !failed.includes(id) &&
      !explained.has(id) &&
      !integration.merged.includes(id),
  );
  const problems: string[] = [];
  if (failed.length > 0) problems.push(`${failed.join(', ')} did not complete`);
  if (conflicts.length > 0) problems.push(`merge conflict in ${conflicts.join(', ')}`);
  if (dropped.length + unmerged.length > 0) {
    problems.push(`${[...dropped, ...unmerged].join(', ')} not merged`);
  }
  if (integration?.testsPassed === false) problems.push('the integration tests failed');
  if (state === null) {
    const source = end.stateSource ? ` (${end.stateSource})` : '';
    problems.push(`the run left no execution state${source}`);
  } else if (integration === null) problems.push('nothing was integrated');
  if (problems.length === 0 && end.runConclusion !== undefined) {
    if (end.runConclusion !== 'success') {
      problems.push(`the workflow run ended with \`${end.runConclusion ?? 'no conclusion'}\``);
    }
  }
  return problems;
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
