/**
 * Pull requests: read one, find the open one for a branch, and open-or-update (so a re-run edits
 * the integration PR instead of opening a second).
 */
import { capText, PULL_REQUEST_BODY_LIMIT } from '../limits.js';
import type { PullRequestInfo, PullRequestInput } from '../types.js';
import { NO_PLUGIN_RETRY, statusOf, type GitHubContext } from './context.js';

const CUT_NOTE = 'the full report is in the execution report comment and the workflow artifacts';

export interface PullRequestsApi {
  getPullRequest(number: number): Promise<PullRequestInfo>;
  findOpenPullRequest(head: string): Promise<PullRequestInfo | null>;
  upsertPullRequest(
    input: PullRequestInput,
    options?: { createFirst?: boolean },
  ): Promise<{ number: number; url: string }>;
}

interface ApiPullRequest {
  number: number;
  html_url: string;
  state: string;
  title: string;
  body: string | null;
  head: { ref: string; sha: string; repo: { full_name: string } | null };
  base: { ref: string; repo: { full_name: string } };
}

function toInfo(pr: ApiPullRequest): PullRequestInfo {
  const headRepo = pr.head.repo?.full_name ?? null;
  return {
    number: pr.number,
    url: pr.html_url,
    state: pr.state === 'open' ? 'open' : 'closed',
    title: pr.title,
    body: pr.body ?? '',
    headRef: pr.head.ref,
    headSha: pr.head.sha,
    headRepo,
    baseRef: pr.base.ref,
    baseRepo: pr.base.repo.full_name,
    // A deleted fork has no head repository: treat it as a fork too.
    fromFork: headRepo === null || headRepo.toLowerCase() !== pr.base.repo.full_name.toLowerCase(),
  };
}

export function createPullRequestsApi(ctx: GitHubContext): PullRequestsApi {
  const { owner, repo } = ctx;

  async function findOpenPullRequest(head: string): Promise<PullRequestInfo | null> {
    const route = 'GET /repos/{owner}/{repo}/pulls';
    const { data } = await ctx.read(route, () =>
      ctx.octokit.request(route, {
        owner,
        repo,
        state: 'open',
        head: `${owner}:${head}`,
        per_page: 100,
        request: NO_PLUGIN_RETRY,
      }),
    );
    const match = data.find(
      (pr) => pr.head.ref === head && pr.head.repo?.full_name === `${owner}/${repo}`,
    );
    return match ? toInfo(match) : null;
  }

  async function update(
    number: number,
    input: PullRequestInput,
    body: string,
  ): Promise<{ number: number; url: string }> {
    const route = 'PATCH /repos/{owner}/{repo}/pulls/{pull_number}';
    const { data } = await ctx.write(route, true, () =>
      ctx.octokit.request(route, {
        owner,
        repo,
        pull_number: number,
        title: input.title,
        body,
        base: input.base,
        request: NO_PLUGIN_RETRY,
      }),
    );
    return { number: data.number, url: data.html_url };
  }

  return {
    async getPullRequest(number) {
      const route = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
      const { data } = await ctx.read(route, () =>
        ctx.octokit.request(route, { owner, repo, pull_number: number, request: NO_PLUGIN_RETRY }),
      );
      return toInfo(data);
    },

    findOpenPullRequest,

    async upsertPullRequest(input, options = {}) {
      const body = capText(input.body, PULL_REQUEST_BODY_LIMIT, CUT_NOTE).text;
      if (ctx.dryRun) {
        ctx.wouldSend('POST or PATCH pull request (upsert)', { ...input, body });
        return { number: 0, url: '' };
      }
      const existing = options.createFirst ? null : await findOpenPullRequest(input.head);
      if (existing) return update(existing.number, input, body);
      const route = 'POST /repos/{owner}/{repo}/pulls';
      try {
        const { data } = await ctx.write(route, false, () =>
          ctx.octokit.request(route, {
            owner,
            repo,
            head: input.head,
            base: input.base,
            title: input.title,
            body,
            request: NO_PLUGIN_RETRY,
          }),
        );
        return { number: data.number, url: data.html_url };
      } catch (error) {
        // It exists (opened between our search and our create, or not searched for: 422 "already
        // exists"): edit that one.
        if (statusOf(error) !== 422) throw error;
        const raced = await findOpenPullRequest(input.head);
        if (!raced) throw error;
        return update(raced.number, input, body);
      }
    },
  };
}
