/**
 * One execution per pull request, without the app: before a new execution starts, the plan job
 * looks for another run of the same workflow, queued or in progress, for the same PR. Runs say
 * which PR they are for in their name (`run-name` ends with `(PR #<n>)`, see the example caller),
 * because a listing carries nothing else that ties an `issue_comment` run to its PR.
 *
 * Only runs of this repository's own commits count: a fork's pull request can run the workflow file
 * as its branch rewrote it, with any run name, and could otherwise hold any PR for as long as its
 * run stays queued (a runner label nobody has: a day).
 *
 * Of two runs started at once, the older goes on and the newer yields. A dispatched run (a next
 * wave, which never yields, or one started by hand) always counts, whatever its age. A run started
 * by someone without write permission counts for nothing: its gate stops it, and anyone can
 * comment `/parallel-run`, so such runs, started one after the other, would otherwise hold a PR
 * for as long as someone keeps commenting.
 */
import type { RepoForge, WorkflowRunInfo } from '../forge/types.js';

/** The mark a run's name carries for the PR it works on. */
export function pullRequestMark(pr: number): string {
  return `(PR #${pr})`;
}

export interface BusyQuery {
  /** The workflow's file name (`parallel-run.yml`). */
  workflow: string;
  pullRequest: number;
  /** This run's id: it never counts against itself. */
  runId: number;
  /** People known to have write permission (this run's, checked by its gate): not asked again. */
  writers?: readonly string[];
}

/** Another run working on the PR, or null. */
export async function findRunningExecution(
  forge: RepoForge,
  query: BusyQuery,
): Promise<WorkflowRunInfo | null> {
  const mark = pullRequestMark(query.pullRequest);
  const own = `${forge.owner}/${forge.repo}`.toLowerCase();
  const writers = new Map<string, Promise<boolean>>(
    (query.writers ?? []).map((writer) => [writer, Promise.resolve(true)]),
  );
  const canWrite = (actor: string) => {
    if (!writers.has(actor)) {
      writers.set(
        actor,
        forge.getCollaboratorPermission(actor).then((permission) => permission.canWrite),
      );
    }
    return writers.get(actor)!;
  };
  for (const status of ['in_progress', 'queued'] as const) {
    const runs = await forge.listWorkflowRuns(query.workflow, status);
    const candidates = runs
      .filter((run) => run.id !== query.runId && run.displayTitle.includes(mark))
      // A fork's pull request runs the workflow as the fork wrote it, run name included, and
      // never starts an execution: its run holds no PR, however long it stays queued.
      .filter((run) => run.headRepository?.toLowerCase() === own)
      .filter((run) => run.id < query.runId || run.event === 'workflow_dispatch')
      .sort((a, b) => a.id - b.id);
    for (const run of candidates) {
      // A dispatch needs write permission already; an unknown starter counts, to be safe.
      if (run.event === 'workflow_dispatch' || run.actor === null || (await canWrite(run.actor)))
        return run;
    }
  }
  return null;
}

/** The reply on the PR: which run holds it, and what to do. */
export function busyReply(other: WorkflowRunInfo): string {
  return [
    `⏳ An execution is already running on this pull request ([workflow run](${other.url})), so this one started nothing.`,
    '',
    'Wait for it to finish (its report is posted here), or cancel it in the Actions tab; then comment `/parallel-run` again.',
  ].join('\n');
}
