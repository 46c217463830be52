/**
 * `workflow_job` and `workflow_run.completed`: progress and the end of an execution's run. Runs of
 * other workflows are recognised once and then ignored without another API call.
 */
import type { Context } from 'probot';
import { loadRepoConfig } from '../config.js';
import { finalizeExecution } from '../execution/finalize.js';
import { handleJobEvent } from '../execution/progress.js';
import { resolveByRun } from '../execution/resolve.js';
import type { Scope } from '../scope.js';

export async function onWorkflowJob(
  context: Context<'workflow_job'>,
  scopeFor: () => Promise<Scope>,
): Promise<void> {
  const { payload } = context;
  const job = payload.workflow_job;
  if (payload.action !== 'in_progress' && payload.action !== 'completed') return;
  const scope = await scopeFor();
  if (scope.deps.foreignRuns.has(String(job.run_id))) return;
  const outcome = await handleJobEvent(scope, {
    action: payload.action,
    runId: job.run_id,
    headSha: job.head_sha,
    name: job.name,
    conclusion: job.conclusion ?? null,
    startedAt: job.started_at ?? null,
    completedAt: job.completed_at ?? null,
    url: job.html_url ?? null,
  });
  if (outcome === 'not-ours') scope.deps.foreignRuns.firstSight(String(job.run_id));
}

export async function onWorkflowRunCompleted(
  context: Context<'workflow_run.completed'>,
  scopeFor: () => Promise<Scope>,
): Promise<void> {
  const { payload } = context;
  const run = payload.workflow_run;
  const scope = await scopeFor();
  if (scope.deps.foreignRuns.has(String(run.id))) return;
  // One run end at a time per commit: two deliveries of the same end must not both start a wave.
  await scope.deps.mutex.run(`${scope.owner}/${scope.repo}@run-end:${run.head_sha}`, async () => {
    const execution = await resolveByRun(scope, run.head_sha, run.id, {
      displayTitle: run.display_title ?? run.name ?? '',
      url: run.html_url,
      event: run.event ?? null,
      headRepository: run.head_repository?.full_name ?? null,
    });
    if (!execution) {
      scope.deps.foreignRuns.firstSight(String(run.id));
      return;
    }
    // The record knows what the config said when the execution started (older records do not).
    const loaded =
      execution.record.writeBack === null
        ? await loadRepoConfig(scope, payload.repository.default_branch)
        : null;
    await finalizeExecution(
      scope,
      execution,
      { id: run.id, conclusion: run.conclusion ?? null, url: run.html_url },
      loaded?.ok ? loaded.config : null,
    );
  });
}
