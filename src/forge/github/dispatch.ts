/**
 * `workflow_dispatch`: ask for the run's details (`return_run_details`, answered 200 where
 * supported); when the server answers 204 instead, find the run by a correlation id that the
 * workflow shows in its `run-name`.
 */
import { UsageError } from '../../engine/errors.js';
import { DISPATCH_INPUTS_CHARS_MAX, DISPATCH_INPUTS_MAX } from '../limits.js';
import type { DispatchOptions, WorkflowRunInfo } from '../types.js';
import { NO_PLUGIN_RETRY, statusOf, type GitHubContext } from './context.js';

export interface DispatchResult {
  runId: number | null;
  url: string | null;
}

/** Waits between searches for a run that was dispatched without details (ms). */
export const RUN_SEARCH_DELAYS_MS = [1000, 2000, 3000, 5000, 8000];

export function createDispatchApi(ctx: GitHubContext) {
  const { owner, repo } = ctx;

  async function findRunByCorrelation(
    workflow: string,
    correlationId: string,
    since: Date,
  ): Promise<DispatchResult> {
    const route = 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs';
    // The run appears a few seconds after the dispatch. Filtered here rather than with the
    // `created` query (search syntax the OpenAPI description types as a plain date-time);
    // two minutes of slack for clock skew between us and GitHub.
    const earliest = since.getTime() - 120_000;
    for (const delay of RUN_SEARCH_DELAYS_MS) {
      await ctx.sleep(delay);
      const { data } = await ctx.read(route, () =>
        ctx.octokit.request(route, {
          owner,
          repo,
          workflow_id: workflow,
          event: 'workflow_dispatch',
          per_page: 50,
          request: NO_PLUGIN_RETRY,
        }),
      );
      const run = data.workflow_runs.find(
        (r) =>
          Date.parse(r.created_at) >= earliest &&
          ((r.display_title ?? '').includes(correlationId) ||
            (r.name ?? '').includes(correlationId)),
      );
      if (run) return { runId: Number(run.id), url: run.html_url };
    }
    ctx.logger.warn('dispatched workflow run not found by its correlation id', {
      workflow,
      correlationId,
    });
    return { runId: null, url: null };
  }

  async function send(
    workflow: string,
    ref: string,
    inputs: Record<string, string>,
    details: boolean,
  ) {
    const route = 'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches';
    return ctx.write(route, false, () =>
      ctx.octokit.request(route, {
        owner,
        repo,
        workflow_id: workflow,
        ref,
        inputs,
        ...(details ? { return_run_details: true } : {}),
        request: NO_PLUGIN_RETRY,
      }),
    );
  }

  return {
    async listWorkflowRuns(
      workflow: string,
      status: 'queued' | 'in_progress',
    ): Promise<WorkflowRunInfo[]> {
      const route = 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs';
      const { data } = await ctx.read(route, () =>
        ctx.octokit.request(route, {
          owner,
          repo,
          workflow_id: workflow,
          status,
          per_page: 100,
          request: NO_PLUGIN_RETRY,
        }),
      );
      return data.workflow_runs.map((r) => ({
        id: Number(r.id),
        event: r.event,
        displayTitle: r.display_title ?? r.name ?? '',
        status: r.status ?? null,
        createdAt: r.created_at,
        url: r.html_url,
        headRepository: r.head_repository?.full_name ?? null,
        actor: r.triggering_actor?.login ?? r.actor?.login ?? null,
      }));
    },

    async dispatchWorkflow(
      workflow: string,
      ref: string,
      inputs: Record<string, string>,
      options: DispatchOptions = {},
    ): Promise<DispatchResult> {
      checkInputs(inputs);
      if (ctx.dryRun) {
        ctx.wouldSend('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
          workflow_id: workflow,
          ref,
          inputs,
        });
        return { runId: null, url: null };
      }
      const since = ctx.clock.now();
      let response;
      try {
        response = await send(workflow, ref, inputs, true);
      } catch (error) {
        // A server that does not know `return_run_details` refuses the body (422) without running
        // anything, so sending it again without the flag cannot start two runs.
        if (
          statusOf(error) !== 422 ||
          !/return_run_details/i.test(String((error as Error).message))
        )
          throw error;
        response = await send(workflow, ref, inputs, false);
      }
      const data = response.data as { workflow_run_id?: number; html_url?: string } | undefined;
      if (response.status === 200 && data?.workflow_run_id) {
        return { runId: data.workflow_run_id, url: data.html_url ?? null };
      }
      if (!options.correlationId) return { runId: null, url: null };
      return findRunByCorrelation(workflow, options.correlationId, since);
    },
  };
}

function checkInputs(inputs: Record<string, string>): void {
  const count = Object.keys(inputs).length;
  if (count > DISPATCH_INPUTS_MAX) {
    throw new UsageError(
      `workflow_dispatch takes at most ${DISPATCH_INPUTS_MAX} inputs, got ${count}`,
      'Pass fewer inputs; put the rest in a file the workflow reads.',
    );
  }
  const chars = Object.entries(inputs).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (chars > DISPATCH_INPUTS_CHARS_MAX) {
    throw new UsageError(
      `workflow_dispatch inputs total ${chars} characters (max ${DISPATCH_INPUTS_CHARS_MAX})`,
      'Pass ids, not documents: the workflow reads the plan from the repository.',
    );
  }
}
