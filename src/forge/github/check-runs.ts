/**
 * Check runs: outputs capped at 65,535 characters, annotations sent 50 per request (the first 50
 * with the create or update, the rest in further updates), at most three buttons.
 */
import { UsageError } from '../../engine/errors.js';
import {
  ANNOTATIONS_PER_REQUEST,
  capText,
  CHECK_ACTION_DESCRIPTION_MAX,
  CHECK_ACTION_IDENTIFIER_MAX,
  CHECK_ACTION_LABEL_MAX,
  CHECK_ACTIONS_MAX,
  CHECK_OUTPUT_LIMIT,
  chunk,
} from '../limits.js';
import type { CheckRunInfo, CheckRunInput, CheckRunOutput } from '../types.js';
import { listing, NO_PLUGIN_RETRY, PAGE_SIZE, type GitHubContext } from './context.js';

const CUT_NOTE = 'the full text is in the workflow run (job summary and artifacts)';

type Annotation = NonNullable<CheckRunOutput['annotations']>[number];

export interface CheckRunsApi {
  createCheckRun(input: CheckRunInput): Promise<{ id: number }>;
  updateCheckRun(id: number, input: Partial<CheckRunInput>): Promise<void>;
  listCheckRuns(ref: string, options?: { name?: string }): Promise<CheckRunInfo[]>;
}

export function createCheckRunsApi(ctx: GitHubContext): CheckRunsApi {
  const { owner, repo } = ctx;

  async function patch(id: number, body: Record<string, unknown>): Promise<void> {
    const route = 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}';
    if (ctx.dryRun) {
      ctx.wouldSend(route, { check_run_id: id, ...body });
      return;
    }
    // Annotations are appended on every update, so repeating one would duplicate them.
    const idempotent = !hasAnnotations(body);
    await ctx.write(route, idempotent, () =>
      ctx.octokit.request(route, {
        owner,
        repo,
        check_run_id: id,
        ...body,
        request: NO_PLUGIN_RETRY,
      }),
    );
  }

  async function sendRemainingAnnotations(id: number, output: CapturedOutput): Promise<void> {
    for (const annotations of output.later) {
      await patch(id, { output: { title: output.title, summary: output.summary, annotations } });
    }
  }

  return {
    async createCheckRun(input) {
      const route = 'POST /repos/{owner}/{repo}/check-runs';
      const output = input.output ? captureOutput(input.output) : null;
      const body = {
        name: input.name,
        head_sha: input.headSha,
        ...fields(input),
        ...(output ? { output: output.first } : {}),
      };
      if (ctx.dryRun) {
        ctx.wouldSend(route, body);
        if (output)
          for (const annotations of output.later)
            ctx.wouldSend('PATCH check run (annotations)', { annotations });
        return { id: 0 };
      }
      const { data } = await ctx.write(route, false, () =>
        ctx.octokit.request(route, { owner, repo, ...body, request: NO_PLUGIN_RETRY }),
      );
      const id = Number(data.id);
      if (output) await sendRemainingAnnotations(id, output);
      return { id };
    },

    async updateCheckRun(id, input) {
      const output = input.output ? captureOutput(input.output) : null;
      await patch(id, {
        ...(input.name ? { name: input.name } : {}),
        ...fields(input),
        ...(output ? { output: output.first } : {}),
      });
      if (output) await sendRemainingAnnotations(id, output);
    },

    async listCheckRuns(ref, options = {}) {
      const route = 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs';
      const runs = await ctx.read(route, () =>
        ctx.octokit.paginate(
          route,
          listing({
            owner,
            repo,
            ref,
            per_page: PAGE_SIZE,
            ...(options.name ? { check_name: options.name } : {}),
          }),
        ),
      );
      return runs.map((run): CheckRunInfo => ({
        id: Number(run.id),
        name: run.name,
        headSha: run.head_sha,
        status: run.status,
        conclusion: run.conclusion ?? null,
        externalId: run.external_id ?? null,
        detailsUrl: run.details_url ?? null,
        url: run.html_url ?? null,
        outputTitle: run.output.title ?? null,
        outputSummary: run.output.summary ?? null,
        appSlug: run.app?.slug ?? null,
      }));
    },
  };
}

/** The body fields other than name, head SHA and output, in GitHub's spelling. */
function fields(input: Partial<CheckRunInput>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (input.status) body.status = input.status;
  if (input.conclusion) body.conclusion = input.conclusion;
  if (input.externalId !== undefined) body.external_id = input.externalId;
  if (input.detailsUrl !== undefined) body.details_url = input.detailsUrl;
  if (input.actions) body.actions = checkActions(input.actions);
  return body;
}

interface ApiOutput {
  title: string;
  summary: string;
  text?: string;
  annotations?: Annotation[];
}

interface CapturedOutput {
  title: string;
  summary: string;
  first: ApiOutput;
  later: Annotation[][];
}

function captureOutput(output: CheckRunOutput): CapturedOutput {
  const summary = capText(output.summary, CHECK_OUTPUT_LIMIT, CUT_NOTE).text;
  const chunks = chunk(output.annotations ?? [], ANNOTATIONS_PER_REQUEST);
  const first: ApiOutput = { title: output.title, summary };
  if (output.text !== undefined)
    first.text = capText(output.text, CHECK_OUTPUT_LIMIT, CUT_NOTE).text;
  if (chunks[0]) first.annotations = chunks[0];
  return { title: output.title, summary, first, later: chunks.slice(1) };
}

function checkActions(
  actions: NonNullable<CheckRunInput['actions']>,
): NonNullable<CheckRunInput['actions']> {
  if (actions.length > CHECK_ACTIONS_MAX) {
    throw new UsageError(
      `a check run takes at most ${CHECK_ACTIONS_MAX} actions, got ${actions.length}`,
      'Keep the most useful buttons (e.g. "Retry failed", "Cancel").',
    );
  }
  for (const action of actions) {
    const tooLong =
      action.label.length > CHECK_ACTION_LABEL_MAX
        ? `label "${action.label}" (max ${CHECK_ACTION_LABEL_MAX})`
        : action.identifier.length > CHECK_ACTION_IDENTIFIER_MAX
          ? `identifier "${action.identifier}" (max ${CHECK_ACTION_IDENTIFIER_MAX})`
          : action.description.length > CHECK_ACTION_DESCRIPTION_MAX
            ? `description "${action.description}" (max ${CHECK_ACTION_DESCRIPTION_MAX})`
            : null;
    if (tooLong)
      throw new UsageError(
        `check run action ${tooLong} is too long`,
        'Shorten it; GitHub refuses longer ones.',
      );
  }
  return actions;
}

function hasAnnotations(body: Record<string, unknown>): boolean {
  const output = body.output as { annotations?: unknown[] } | undefined;
  return Boolean(output?.annotations?.length);
}
