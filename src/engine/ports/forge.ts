/**
 * The Forge port: everything the engine asks of a code host. GitHub implements it with Octokit;
 * a local forge writes files instead, so the whole engine runs with no GitHub at all.
 */

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface CheckRunOutput {
  title: string;
  summary: string;
  text?: string;
  annotations?: Array<{
    path: string;
    start_line: number;
    end_line: number;
    annotation_level: 'notice' | 'warning' | 'failure';
    message: string;
    title?: string;
  }>;
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  externalId?: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?:
    'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';
  detailsUrl?: string;
  output?: CheckRunOutput;
  actions?: Array<{ label: string; identifier: string; description: string }>;
}

export interface PullRequestInput {
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface Forge {
  /** Create or edit the one comment on an issue/PR that carries `marker` (a hidden HTML comment). */
  upsertComment(
    issueNumber: number,
    marker: string,
    body: string,
  ): Promise<{ id: number; url: string }>;
  createCheckRun(input: CheckRunInput): Promise<{ id: number }>;
  updateCheckRun(id: number, input: Partial<CheckRunInput>): Promise<void>;
  /** Open the PR, or update the open one with the same head. */
  upsertPullRequest(input: PullRequestInput): Promise<{ number: number; url: string }>;
  dispatchWorkflow(
    workflow: string,
    ref: string,
    inputs: Record<string, string>,
  ): Promise<{ runId: number | null; url: string | null }>;
}
