/**
 * The GitHub calls the app needs beyond `RepoForge`: every marked comment of a PR (to find a running
 * execution) and editing a comment by id, both the forge's own (forge/github/comments.ts), and the
 * Actions side of a run (its jobs, its artifacts, cancelling it). They go through the forge's call
 * policy, so writes share the installation's write queue (serial, spaced) and nothing
 * non-idempotent is repeated.
 */
import {
  listing,
  NO_PLUGIN_RETRY,
  PAGE_SIZE,
  statusOf,
  type GitHubContext,
} from '../../forge/github/context.js';
import { editComment, markedComments, type MarkedComment } from '../../forge/github/comments.js';
import { readZipEntries } from './unzip.js';

export interface RunInfo {
  id: number;
  status: string | null;
  conclusion: string | null;
  url: string;
  displayTitle: string;
  headSha: string;
  headBranch: string | null;
  path: string | null;
  /** What started it (`workflow_dispatch` for the app's own); null when GitHub did not say. */
  event: string | null;
  /** `owner/repo` its workflow file came from (a fork's for a fork's pull request). */
  headRepository: string | null;
}

export interface JobInfo {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  startedAt: string | null;
  completedAt: string | null;
  url: string | null;
  /** Its steps, by name, with how each ended (null while it runs). */
  steps: Array<{ name: string; conclusion: string | null }>;
}

export interface ArtifactInfo {
  id: number;
  name: string;
  expired: boolean;
  url: string;
  /** The zip's size, as GitHub lists it. */
  sizeInBytes: number;
}

export interface AppApi {
  /** Comments on the PR that carry `marker`, oldest first, written by `author` when given. */
  listMarkedComments(
    issueNumber: number,
    marker: string,
    author: string | null,
  ): Promise<MarkedComment[]>;
  /** Edit a comment by id; false when it no longer exists. */
  updateComment(commentId: number, body: string): Promise<boolean>;
  getRun(runId: number): Promise<RunInfo>;
  listRunJobs(runId: number): Promise<JobInfo[]>;
  listRunArtifacts(runId: number): Promise<ArtifactInfo[]>;
  /** The files of an artifact (GitHub serves a zip), by name; `want` picks which are read. */
  downloadArtifact(
    artifactId: number,
    want?: (name: string) => boolean,
  ): Promise<Map<string, Buffer>>;
  /** Names of the files (and symlinks) in a folder at `ref`, or null when there is no such folder. */
  listDirectory(path: string, ref: string): Promise<string[] | null>;
  /** Ask GitHub to cancel a run; false when it has already finished (409). */
  cancelRun(runId: number): Promise<boolean>;
}

export function createAppApi(ctx: GitHubContext): AppApi {
  const { owner, repo, octokit } = ctx;

  return {
    listMarkedComments: (issueNumber, marker, author) =>
      markedComments(ctx, issueNumber, marker, author),

    async updateComment(commentId, body) {
      return (await editComment(ctx, commentId, body)) !== null;
    },

    async getRun(runId) {
      const route = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}';
      const { data } = await ctx.read(route, () =>
        octokit.request(route, { owner, repo, run_id: runId, request: NO_PLUGIN_RETRY }),
      );
      return {
        id: Number(data.id),
        status: data.status ?? null,
        conclusion: data.conclusion ?? null,
        url: data.html_url,
        displayTitle: data.display_title ?? data.name ?? '',
        headSha: data.head_sha,
        headBranch: data.head_branch ?? null,
        path: data.path ?? null,
        event: data.event ?? null,
        headRepository: data.head_repository?.full_name ?? null,
      };
    },

    async listRunJobs(runId) {
      const route = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs';
      const jobs = await ctx.read(route, () =>
        octokit.paginate(
          route,
          listing({
            owner,
            repo,
            run_id: runId,
            filter: 'latest' as const,
            per_page: PAGE_SIZE,
          }),
        ),
      );
      return jobs.map((job) => ({
        id: Number(job.id),
        name: job.name,
        status: job.status,
        conclusion: job.conclusion ?? null,
        startedAt: job.started_at ?? null,
        completedAt: job.completed_at ?? null,
        url: job.html_url ?? null,
        steps: (job.steps ?? []).map((step) => ({
          name: step.name,
          conclusion: step.conclusion ?? null,
        })),
      }));
    },

    async listRunArtifacts(runId) {
      const route = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts';
      const artifacts = await ctx.read(route, () =>
        octokit.paginate(
          route,
          listing({
            owner,
            repo,
            run_id: runId,
            per_page: PAGE_SIZE,
          }),
        ),
      );
      return artifacts.map((artifact) => ({
        id: artifact.id,
        name: artifact.name,
        expired: artifact.expired,
        url: `https://github.com/${owner}/${repo}/actions/runs/${runId}/artifacts/${artifact.id}`,
        sizeInBytes: artifact.size_in_bytes,
      }));
    },

    async downloadArtifact(artifactId, want) {
      const route = 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}';
      // GitHub answers with a redirect to short-lived storage; fetch follows it.
      const { data } = await ctx.read(route, () =>
        octokit.request(route, {
          owner,
          repo,
          artifact_id: artifactId,
          archive_format: 'zip',
          request: NO_PLUGIN_RETRY,
        }),
      );
      return readZipEntries(Buffer.from(data as ArrayBuffer), want ? { want } : {});
    },

    async listDirectory(path, ref) {
      const route = 'GET /repos/{owner}/{repo}/contents/{path}';
      try {
        const { data } = await ctx.read(route, () =>
          octokit.request(route, { owner, repo, path, ref, request: NO_PLUGIN_RETRY }),
        );
        if (!Array.isArray(data)) return null;
        // A symlink is read as its target is (the contents API answers a file's text for it).
        return data
          .filter((entry) => entry.type === 'file' || entry.type === 'symlink')
          .map((entry) => entry.name);
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw error;
      }
    },

    async cancelRun(runId) {
      const route = 'POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel';
      if (ctx.dryRun) {
        ctx.wouldSend(route, { run_id: runId });
        return true;
      }
      try {
        // Cancelling twice cancels once: GitHub answers 409 for a run that is already done.
        await ctx.write(route, true, () =>
          octokit.request(route, { owner, repo, run_id: runId, request: NO_PLUGIN_RETRY }),
        );
        return true;
      } catch (error) {
        if (statusOf(error) === 409) return false;
        throw error;
      }
    },
  };
}
