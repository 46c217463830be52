/**
 * What the shells (Action, Probot app) ask of a code host: comments, check runs, pull requests,
 * workflow dispatches, authorisation, reactions, files. The engine asks nothing of it: it works on
 * a git repository and returns results, and the shells publish them.
 */

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

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

export interface CollaboratorPermission {
  /** GitHub's legacy level (`admin|write|read|none`), or the role when that is finer. */
  permission: Permission;
  /** The repository role (`admin`, `maintain`, `write`, `triage`, `read`, or a custom role name). */
  roleName: string | null;
  /** Write, maintain or admin: may start an execution. */
  canWrite: boolean;
}

export type Reaction = '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';

export interface CheckRunInfo {
  id: number;
  name: string;
  headSha: string;
  status: CheckRunInput['status'] | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  externalId: string | null;
  detailsUrl: string | null;
  url: string | null;
  outputTitle: string | null;
  outputSummary: string | null;
  /** The slug of the GitHub App that created it (`github-actions` for a workflow's token). */
  appSlug?: string | null;
}

export interface PullRequestInfo {
  number: number;
  url: string;
  state: 'open' | 'closed';
  title: string;
  body: string;
  headRef: string;
  headSha: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  headRepo: string | null;
  baseRef: string;
  baseRepo: string;
  /** The head lives in another repository: never run its code with secrets. */
  fromFork: boolean;
}

export interface CommentInfo {
  id: number;
  body: string;
  url: string;
}

export interface FileContent {
  content: string;
  /** The blob SHA GitHub needs to update the file. */
  sha: string;
}

export interface FileWrite {
  path: string;
  branch: string;
  content: string;
  message: string;
  /** The blob SHA being replaced; omit to create the file. */
  sha?: string;
}

export interface DispatchOptions {
  /**
   * A unique string the workflow shows in its `run-name`: used to find the run when the server
   * answers 204 without run details (GitHub before `return_run_details`, older GHES).
   */
  correlationId?: string;
}

/** A workflow run as a listing shows it. */
export interface WorkflowRunInfo {
  id: number;
  /** `issue_comment`, `workflow_dispatch`, `push`, … */
  event: string;
  /** The run's name (`run-name`): what a dispatcher or a second run recognises it by. */
  displayTitle: string;
  status: string | null;
  createdAt: string;
  url: string;
  /**
   * `owner/name` of the repository the run's commit came from: another one for a fork's pull
   * request (whose run uses the fork's workflow text, `run-name` included); null when unknown.
   */
  headRepository: string | null;
  /** Who started it (the commenter of an `issue_comment` run); null when unknown. */
  actor: string | null;
}

export interface RepoForge {
  readonly owner: string;
  readonly repo: string;
  /** Create or edit the one comment on an issue/PR that carries `marker` (a hidden HTML comment). */
  upsertComment(
    issueNumber: number,
    marker: string,
    body: string,
  ): Promise<{ id: number; url: string }>;
  createCheckRun(input: CheckRunInput): Promise<{ id: number }>;
  updateCheckRun(id: number, input: Partial<CheckRunInput>): Promise<void>;
  /** Open the PR, or update the open one with the same head. */
  /**
   * `createFirst`: the head branch is the caller's own and most likely has no PR yet, so create
   * without searching first (one request instead of two; an existing one is still found and edited).
   */
  upsertPullRequest(
    input: PullRequestInput,
    options?: { createFirst?: boolean },
  ): Promise<{ number: number; url: string }>;
  dispatchWorkflow(
    workflow: string,
    ref: string,
    inputs: Record<string, string>,
    options?: DispatchOptions,
  ): Promise<{ runId: number | null; url: string | null }>;
  /** Runs of `workflow` (a file name) in one state, newest first (the first 100). */
  listWorkflowRuns(workflow: string, status: 'queued' | 'in_progress'): Promise<WorkflowRunInfo[]>;
  /** Post a new comment (not upserted): replies such as "you may not start a run". */
  createComment(issueNumber: number, body: string): Promise<{ id: number; url: string }>;
  /** The comment carrying `marker`, or null. */
  findComment(issueNumber: number, marker: string): Promise<CommentInfo | null>;
  addReaction(commentId: number, content: Reaction): Promise<void>;
  getCollaboratorPermission(user: string): Promise<CollaboratorPermission>;
  listCheckRuns(ref: string, options?: { name?: string }): Promise<CheckRunInfo[]>;
  getPullRequest(number: number): Promise<PullRequestInfo>;
  /** The open PR whose head is `head` (a branch of this repository), or null. */
  findOpenPullRequest(head: string): Promise<PullRequestInfo | null>;
  /** A file's text at `ref` (default branch when omitted), or null when it does not exist. */
  getFile(path: string, ref?: string): Promise<FileContent | null>;
  createOrUpdateFile(write: FileWrite): Promise<{ commitSha: string; contentSha: string }>;
}
