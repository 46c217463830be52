/**
 * Finds an execution again from what a webhook carries (a commit and a workflow run, or a check
 * run): the summary check run on the commit holds the record, the task check runs hold the tasks.
 */
import { statusOf } from '../../forge/github/context.js';
import type { CheckRunInfo } from '../../forge/types.js';
import type { Scope } from '../scope.js';
import type { RunInfo } from '../github/app-api.js';
import { DASHBOARD_MARKER, readLock } from './dashboard.js';
import { parseExternalId } from './id.js';
import { repairCheckName, SUMMARY_CHECK_NAME } from './names.js';
import { taskCheckName } from '../../forge/check-names.js';
import { decodeRecord, encodeRecord, type ExecutionRecord } from './record.js';
import { withPlaceholders } from './task-checks.js';

export interface ResolvedExecution {
  record: ExecutionRecord;
  summary: CheckRunInfo;
  /** Task id → its check run. */
  checks: Map<string, CheckRunInfo>;
  /** Task id → the check run of its repair leg, for tasks a `repair` job has run for. */
  repairs?: Map<string, CheckRunInfo>;
}

/** Every execution whose check runs are on `sha` (newest summary first). */
export async function executionsOnCommit(scope: Scope, sha: string): Promise<ResolvedExecution[]> {
  const runs = (await scope.forge.listCheckRuns(sha)).filter((run) => ownCheckRun(scope, run));
  const byExecution = new Map<string, ResolvedExecution>();
  for (const run of runs) {
    const id = parseExternalId(run.externalId);
    if (!id || id.taskId !== null || run.name !== SUMMARY_CHECK_NAME) continue;
    const record = decodeRecord(run.outputSummary);
    if (!record || record.execution !== id.executionId) continue;
    byExecution.set(id.executionId, { record, summary: run, checks: new Map() });
  }
  for (const run of runs) {
    const id = parseExternalId(run.externalId);
    if (!id || id.taskId === null) continue;
    const execution = byExecution.get(id.executionId);
    const task = execution?.record.tasks.find((t) => t.id === id.taskId);
    // Only the app's own check run: a workflow job may create its own with the same external id.
    if (execution && task && run.name === taskCheckName(task)) execution.checks.set(task.id, run);
    if (execution && task && run.name === repairCheckName(taskCheckName(task)))
      (execution.repairs ??= new Map()).set(task.id, run);
  }
  return [...byExecution.values()].sort((a, b) => b.summary.id - a.summary.id);
}

/**
 * A check run this app created. Any workflow job whose token may write checks (the repository's
 * CI running agent-written code on the integration PR, for one), and any other installed app,
 * can create a check run named `parallel-executor` whose summary carries a forged record — its
 * run, PR, branch and plan path — which the end of that run would then act on with the app's
 * token. Without a known login (tests, a token that is not an app's) every one is taken, as
 * markers are.
 */
function ownCheckRun(scope: Scope, run: CheckRunInfo): boolean {
  if (scope.botLogin === null) return true;
  return typeof run.appSlug === 'string' && `${run.appSlug}[bot]` === scope.botLogin;
}

/** `owner/repo`: the key of this repository's executions in `LiveExecutions`. */
export function repositoryKey(scope: Scope): string {
  return `${scope.owner}/${scope.repo}`;
}

/**
 * An execution by id, read from GitHub and merged with what this process knows; `cached`: what
 * this process knows when it knows the execution (a dashboard redraw, no decision taken on it).
 */
export async function resolveExecution(
  scope: Scope,
  sha: string,
  executionId: string,
  options: { cached?: boolean } = {},
): Promise<ResolvedExecution | null> {
  if (options.cached) {
    const known = scope.deps.live.get(repositoryKey(scope), executionId);
    if (known) return known;
  }
  const all = await executionsOnCommit(scope, sha);
  const found = all.find((e) => e.record.execution === executionId);
  if (found) return scope.deps.live.adopt(repositoryKey(scope), withPlaceholders(found));
  // Started here, its summary check run not written yet (it follows the dispatch).
  return scope.deps.live.get(repositoryKey(scope), executionId);
}

/**
 * The execution a workflow run belongs to. The record knows its run id when the dispatch answered
 * with it; otherwise the run is recognised by the execution id in its `run-name`, and the record
 * learns the run id for next time. A run whose commit is not the execution's (the branch moved
 * between reading the PR and dispatching) is found through the PR's dashboard, whose lock names
 * the execution's commit.
 */
export async function resolveByRun(
  scope: Scope,
  sha: string,
  runId: number,
  known: KnownRun | null = null,
  options: { cached?: boolean } = {},
): Promise<ResolvedExecution | null> {
  if (options.cached) {
    const live = scope.deps.live.byRun(repositoryKey(scope), sha, runId);
    if (live) return live;
  }
  const found = await findByRun(scope, sha, runId, known);
  return found ? scope.deps.live.adopt(repositoryKey(scope), withPlaceholders(found)) : null;
}

async function findByRun(
  scope: Scope,
  sha: string,
  runId: number,
  known: KnownRun | null,
): Promise<ResolvedExecution | null> {
  const all = await executionsOnCommit(scope, sha);
  const recorded = all.find((e) => e.record.run === runId);
  if (recorded) return recorded;
  // An earlier wave's run: its execution has moved on; a late or redelivered event changes nothing.
  if (all.some((e) => e.record.pastRuns.includes(runId))) return null;
  const run = known ?? (await getRunOrNull(scope, runId));
  if (!run) return null;
  // Taken by its name only when it is a dispatch in this repository, as the app's are: a fork's
  // pull request can run a workflow of its own with any run name (the execution id is on the
  // dashboard), and its artifacts would then speak for the execution.
  if (!dispatchedHere(scope, run)) return null;
  const match =
    all.find((e) => e.record.run === null && run.displayTitle.includes(e.record.execution)) ??
    (await resolveThroughDashboard(scope, run.displayTitle, runId));
  if (!match) return null;
  if (match.record.run === runId) return match;
  match.record = { ...match.record, run: runId, runUrl: run.url };
  // The run's end writes the whole record anyway; a job event saves it now for the next one.
  if (!known) await saveRecord(scope, match);
  return match;
}

/** What a workflow run event already says of its run (no read of the run needed). */
export type KnownRun = Pick<RunInfo, 'displayTitle' | 'url' | 'event' | 'headRepository'>;

function dispatchedHere(scope: Scope, run: KnownRun): boolean {
  return (
    run.event === 'workflow_dispatch' &&
    (run.headRepository === null ||
      run.headRepository.toLowerCase() === `${scope.owner}/${scope.repo}`.toLowerCase())
  );
}

async function getRunOrNull(scope: Scope, runId: number) {
  try {
    return await scope.api.getRun(runId);
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

const PR_EXECUTION_ID = /\bpr(\d+)-\d{8}-\d{6}-[0-9a-f]{4}\b/;

async function resolveThroughDashboard(
  scope: Scope,
  displayTitle: string,
  runId: number,
): Promise<ResolvedExecution | null> {
  const found = PR_EXECUTION_ID.exec(displayTitle);
  if (!found) return null;
  const comments = await scope.api.listMarkedComments(
    Number(found[1]),
    DASHBOARD_MARKER,
    scope.botLogin,
  );
  const lock = comments.map((c) => readLock(c.body)).find((l) => l?.execution === found[0]);
  if (!lock) return null;
  const execution = await resolveExecution(scope, lock.sha, lock.execution);
  if (
    !execution ||
    (execution.record.run !== null && execution.record.run !== runId) ||
    execution.record.pastRuns.includes(runId)
  )
    return null;
  return execution;
}

/** Write the record back into the summary check run (keeping its visible text). */
export async function saveRecord(scope: Scope, execution: ResolvedExecution): Promise<void> {
  const visible = stripRecord(execution.summary.outputSummary ?? '');
  const summary = `${encodeRecord(execution.record)}\n${visible}`;
  await scope.forge.updateCheckRun(execution.summary.id, {
    ...(execution.record.runUrl ? { detailsUrl: execution.record.runUrl } : {}),
    output: { title: execution.summary.outputTitle ?? 'Running', summary },
  });
  execution.summary = { ...execution.summary, outputSummary: summary };
}

export function stripRecord(summary: string): string {
  return summary.replace(/^<!-- parallel-executor:record [A-Za-z0-9_-]+ -->\n?/, '');
}
