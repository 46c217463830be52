/**
 * A small stateful GitHub for the app's tests, answering through the OpenAPI-checked nock harness
 * (`test/support/github-api.ts`): every request is still checked against GitHub's description and
 * anything not served here fails the test as unexpected. State (comments, check runs, files,
 * runs) is kept so a later request sees what an earlier one wrote, as on GitHub; tests then assert
 * on the recorded requests and on this state.
 */
import { createHash } from 'node:crypto';
import nock from 'nock';
import type { GitHubApiMock, RecordedRequest } from '../../support/github-api.js';

export const OWNER = 'acme';
export const REPO = 'widgets';
export const BOT = 'parallel-executor[bot]';
export const BLOB_ORIGIN = 'https://productionresultssa0.blob.core.windows.net';

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  createdAt: string;
}

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  external_id: string | null;
  details_url: string | null;
  output: { title: string | null; summary: string | null; text?: string | null };
  annotations: Array<Record<string, unknown>>;
  actions: Array<Record<string, unknown>>;
  /** The slug of the app that created it: the app under test unless a test says otherwise. */
  app?: string;
}

export interface FakePull {
  number: number;
  state: 'open' | 'closed';
  title: string;
  headRef: string;
  headSha: string;
  headRepo: string | null;
  baseRef: string;
}

export interface FakeRun {
  id: number;
  created_at: string;
  status: string;
  conclusion: string | null;
  display_title: string;
  head_sha: string;
  head_branch: string;
  path: string;
  /** What started it (default `workflow_dispatch`, as the app's dispatches). */
  event?: string;
  /** Where its workflow came from (default this repository; a fork's for a fork's pull request). */
  head_repository?: string;
  /** Not in the runs list (yet): `dispatchAnswer: 'no-content-unlisted'`. */
  unlisted?: boolean;
}

export interface FakeJob {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  steps?: Array<{ name: string; status: string; conclusion: string | null; number: number }>;
}

export interface FakeGitHub {
  gh: GitHubApiMock;
  /** `ref` is a branch name or a commit SHA. */
  setFile(ref: string, path: string, content: string): void;
  fileAt(ref: string, path: string): string | null;
  removeFile(ref: string, path: string): void;
  permissions: Map<string, 'admin' | 'maintain' | 'write' | 'triage' | 'read'>;
  pulls: Map<number, FakePull>;
  comments: FakeComment[];
  reactions: Array<{ commentId: number; content: string }>;
  checkRuns: FakeCheckRun[];
  dispatches: Array<{
    workflow: string;
    ref: string;
    inputs: Record<string, string>;
    details: boolean;
  }>;
  runs: Map<number, FakeRun>;
  jobs: Map<number, FakeJob[]>;
  /** `sizeInBytes`: what the list says, when a test stands in for an artifact too big to hold. */
  artifacts: Map<number, Array<{ id: number; name: string; zip: Buffer; sizeInBytes?: number }>>;
  cancelled: number[];
  createdPulls: Array<{ number: number; head: string; base: string; title: string; body: string }>;
  commits: Array<{ path: string; branch: string; content: string; message: string }>;
  /**
   * How the dispatch API answers: with run details (200) or without (204, older servers);
   * `no-content-unlisted`: 204, and the run does not show in the runs list yet (a slow server),
   * so the app dispatches without learning its id.
   */
  dispatchAnswer: 'details' | 'no-content' | 'no-content-unlisted' | 'server-error';
  /** Next workflow run id handed out by a dispatch. */
  nextRunId: number;
  /** Add a comment made by someone else (or by the app, with `user: BOT`). */
  addComment(issue: number, body: string, user: string): FakeComment;
  checkRunsFor(sha: string): FakeCheckRun[];
  /** Requests that create or change content (POST, PATCH, PUT, DELETE). */
  writes(): RecordedRequest[];
}

export function fakeGitHub(gh: GitHubApiMock, options: { now?: () => Date } = {}): FakeGitHub {
  const now = options.now ?? (() => new Date());
  const files = new Map<string, string>();
  let nextId = 1000;
  const web = `https://github.com/${OWNER}/${REPO}`;
  const api = `${gh.baseUrl}/repos/${OWNER}/${REPO}`;
  const state: FakeGitHub = {
    gh,
    setFile: (ref, path, content) => void files.set(`${ref}\n${path}`, content),
    fileAt: (ref, path) => files.get(`${ref}\n${path}`) ?? null,
    removeFile: (ref, path) => void files.delete(`${ref}\n${path}`),
    permissions: new Map(),
    pulls: new Map(),
    comments: [],
    reactions: [],
    checkRuns: [],
    dispatches: [],
    runs: new Map(),
    jobs: new Map(),
    artifacts: new Map(),
    cancelled: [],
    createdPulls: [],
    commits: [],
    dispatchAnswer: 'details',
    nextRunId: 9001,
    addComment(issue, body, user) {
      const comment = { id: nextId++, issue, body, user, createdAt: now().toISOString() };
      state.comments.push(comment);
      return comment;
    },
    checkRunsFor: (sha) => state.checkRuns.filter((c) => c.head_sha === sha),
    writes: () => gh.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
  };
  const persist = { persist: true, optional: true } as const;
  const body = (req: RecordedRequest) => (req.body ?? {}) as Record<string, unknown>;
  const commentJson = (c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    body: c.body,
    html_url: `${web}/pull/${c.issue}#issuecomment-${c.id}`,
    url: `${api}/issues/comments/${c.id}`,
    user: { login: c.user, type: c.user.endsWith('[bot]') ? 'Bot' : 'User' },
    created_at: c.createdAt,
    updated_at: c.createdAt,
  });
  const checkJson = (c: FakeCheckRun) => ({
    id: c.id,
    name: c.name,
    head_sha: c.head_sha,
    status: c.status,
    conclusion: c.conclusion,
    external_id: c.external_id,
    details_url: c.details_url,
    html_url: `${web}/runs/${c.id}`,
    output: { ...c.output, annotations_count: c.annotations.length },
    app: { id: c.app === undefined ? 1 : 2, slug: c.app ?? BOT.replace(/\[bot\]$/, '') },
  });
  const pullJson = (p: FakePull) => ({
    number: p.number,
    html_url: `${web}/pull/${p.number}`,
    state: p.state,
    title: p.title,
    body: '',
    head: {
      ref: p.headRef,
      sha: p.headSha,
      repo: p.headRepo === null ? null : { full_name: p.headRepo },
    },
    base: { ref: p.baseRef, repo: { full_name: `${OWNER}/${REPO}` } },
  });
  const runJson = (r: FakeRun) => ({
    id: r.id,
    name: 'parallel-run',
    display_title: r.display_title,
    created_at: r.created_at,
    status: r.status,
    conclusion: r.conclusion,
    head_sha: r.head_sha,
    head_branch: r.head_branch,
    path: r.path,
    html_url: `${web}/actions/runs/${r.id}`,
    event: r.event ?? 'workflow_dispatch',
    head_repository: { full_name: r.head_repository ?? `${OWNER}/${REPO}` },
  });
  /** One page of a listing, with the `Link` header GitHub sends when there is a next page. */
  const page = <T>(
    items: T[],
    req: RecordedRequest,
  ): { items: T[]; headers: Record<string, string> } => {
    const perPage = Number(req.query.per_page ?? 30);
    const n = Number(req.query.page ?? 1);
    if (n * perPage >= items.length) return { items: items.slice((n - 1) * perPage), headers: {} };
    const next = new URLSearchParams({
      ...req.query,
      per_page: String(perPage),
      page: String(n + 1),
    });
    return {
      items: items.slice((n - 1) * perPage, n * perPage),
      headers: { link: `<${gh.baseUrl}${req.path}?${next}>; rel="next"` },
    };
  };

  gh.reply(
    'GET',
    '/app',
    () => ({ status: 200, body: { id: 1, slug: 'parallel-executor' } }),
    persist,
  );
  gh.reply(
    'POST',
    '/app/installations/{installation_id}/access_tokens',
    () => ({
      status: 201,
      body: {
        token: 'ghs_installation',
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        permissions: {},
      },
    }),
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/collaborators/{username}/permission',
    (req) => {
      const permission = state.permissions.get(req.params.username ?? '');
      if (!permission) return { status: 404, body: { message: 'Not Found' } };
      const legacy =
        permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      return {
        status: 200,
        body: { permission: legacy, role_name: permission, user: { login: req.params.username } },
      };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
    (req) => {
      state.reactions.push({
        commentId: Number(req.params.comment_id),
        content: String(body(req).content),
      });
      return { status: 201, body: { id: nextId++, content: body(req).content } };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    (req) => {
      const comment = state.addComment(
        Number(req.params.issue_number),
        String(body(req).body),
        BOT,
      );
      return { status: 201, body: commentJson(comment) };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    (req) => {
      const list = state.comments.filter((c) => c.issue === Number(req.params.issue_number));
      const { items, headers } = page(list, req);
      return { status: 200, body: items.map(commentJson), headers };
    },
    persist,
  );
  gh.reply(
    'PATCH',
    '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    (req) => {
      const comment = state.comments.find((c) => c.id === Number(req.params.comment_id));
      if (!comment) return { status: 404, body: { message: 'Not Found' } };
      comment.body = String(body(req).body);
      return { status: 200, body: commentJson(comment) };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/pulls/{pull_number}',
    (req) => {
      const pull = state.pulls.get(Number(req.params.pull_number));
      return pull
        ? { status: 200, body: pullJson(pull) }
        : { status: 404, body: { message: 'Not Found' } };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/pulls',
    (req) => {
      const head = req.query.head?.split(':')[1];
      const list = state.createdPulls
        .filter((p) => p.head === head)
        .map((p) =>
          pullJson({
            number: p.number,
            state: 'open',
            title: p.title,
            headRef: p.head,
            headSha: 'f'.repeat(40),
            headRepo: `${OWNER}/${REPO}`,
            baseRef: p.base,
          }),
        );
      return { status: 200, body: list };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/pulls',
    (req) => {
      const b = body(req);
      const pull = {
        number: 500 + state.createdPulls.length,
        head: String(b.head),
        base: String(b.base),
        title: String(b.title),
        body: String(b.body),
      };
      state.createdPulls.push(pull);
      return { status: 201, body: { number: pull.number, html_url: `${web}/pull/${pull.number}` } };
    },
    persist,
  );
  gh.reply(
    'PATCH',
    '/repos/{owner}/{repo}/pulls/{pull_number}',
    (req) => {
      const pull = state.createdPulls.find((p) => p.number === Number(req.params.pull_number));
      if (!pull) return { status: 404, body: { message: 'Not Found' } };
      pull.title = String(body(req).title ?? pull.title);
      pull.body = String(body(req).body ?? pull.body);
      return { status: 200, body: { number: pull.number, html_url: `${web}/pull/${pull.number}` } };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/contents/{path}',
    (req) => {
      const path = req.params.path ?? '';
      const ref = req.query.ref ?? 'main';
      const content = state.fileAt(ref, path);
      if (content !== null) {
        return {
          status: 200,
          body: {
            type: 'file',
            encoding: 'base64',
            name: path.split('/').pop(),
            path,
            sha: blobSha(content),
            size: content.length,
            content: Buffer.from(content).toString('base64'),
          },
        };
      }
      const prefix = `${ref}\n${path}/`;
      const entries = [...files.keys()]
        .filter((k) => k.startsWith(prefix))
        .map((k) => k.slice(prefix.length));
      if (entries.length > 0) {
        return {
          status: 200,
          body: entries.map((name) => ({
            type: 'file',
            name,
            path: `${path}/${name}`,
            sha: blobSha(name),
            size: 1,
          })),
        };
      }
      return { status: 404, body: { message: 'Not Found' } };
    },
    persist,
  );
  gh.reply(
    'PUT',
    '/repos/{owner}/{repo}/contents/{path}',
    (req) => {
      const b = body(req);
      const path = req.params.path ?? '';
      const branch = String(b.branch);
      const current = state.fileAt(branch, path);
      if (current !== null && b.sha !== blobSha(current))
        return { status: 409, body: { message: 'sha does not match' } };
      const content = Buffer.from(String(b.content), 'base64').toString('utf8');
      state.setFile(branch, path, content);
      state.commits.push({ path, branch, content, message: String(b.message) });
      return {
        status: 200,
        body: { content: { sha: blobSha(content) }, commit: { sha: 'c'.repeat(40) } },
      };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/check-runs',
    (req) => {
      const b = body(req);
      const output = (b.output ?? {}) as Record<string, unknown>;
      const run: FakeCheckRun = {
        id: nextId++,
        name: String(b.name),
        head_sha: String(b.head_sha),
        status: String(b.status ?? 'queued'),
        conclusion: (b.conclusion as string | undefined) ?? null,
        external_id: (b.external_id as string | undefined) ?? null,
        details_url: (b.details_url as string | undefined) ?? null,
        output: {
          title: (output.title as string) ?? null,
          summary: (output.summary as string) ?? null,
        },
        annotations: [...((output.annotations as Array<Record<string, unknown>>) ?? [])],
        actions: (b.actions as Array<Record<string, unknown>>) ?? [],
      };
      if (run.conclusion) run.status = 'completed';
      state.checkRuns.push(run);
      return { status: 201, body: checkJson(run) };
    },
    persist,
  );
  gh.reply(
    'PATCH',
    '/repos/{owner}/{repo}/check-runs/{check_run_id}',
    (req) => {
      const run = state.checkRuns.find((c) => c.id === Number(req.params.check_run_id));
      if (!run) return { status: 404, body: { message: 'Not Found' } };
      const b = body(req);
      if (b.status) run.status = String(b.status);
      if (b.conclusion) {
        run.conclusion = String(b.conclusion);
        run.status = 'completed';
      }
      if (b.external_id !== undefined) run.external_id = String(b.external_id);
      if (b.details_url !== undefined) run.details_url = String(b.details_url);
      if (b.actions !== undefined) run.actions = b.actions as Array<Record<string, unknown>>;
      const output = b.output as Record<string, unknown> | undefined;
      if (output) {
        run.output = {
          title: (output.title as string) ?? run.output.title,
          summary: (output.summary as string) ?? run.output.summary,
        };
        run.annotations.push(...((output.annotations as Array<Record<string, unknown>>) ?? []));
      }
      return { status: 200, body: checkJson(run) };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/commits/{ref}/check-runs',
    (req) => {
      let list = state
        .checkRunsFor(req.params.ref ?? '')
        .slice()
        .reverse();
      if (req.query.check_name) list = list.filter((c) => c.name === req.query.check_name);
      const { items, headers } = page(list, req);
      return {
        status: 200,
        body: { total_count: list.length, check_runs: items.map(checkJson) },
        headers,
      };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
    (req) => {
      if (state.dispatchAnswer === 'server-error')
        return { status: 502, body: { message: 'Bad Gateway' } };
      const b = body(req);
      const inputs = (b.inputs ?? {}) as Record<string, string>;
      const details = b.return_run_details === true;
      state.dispatches.push({
        workflow: req.params.workflow_id ?? '',
        ref: String(b.ref),
        inputs,
        details,
      });
      const id = state.nextRunId++;
      const headSha =
        [...state.pulls.values()].find((p) => p.headRef === b.ref)?.headSha ?? 'e'.repeat(40);
      state.runs.set(id, {
        id,
        created_at: now().toISOString(),
        status: 'queued',
        conclusion: null,
        // The reusable workflow's `run-name: parallel-run ${{ inputs.correlation-id }}`.
        display_title: `parallel-run ${inputs['correlation-id'] ?? inputs['execution-id'] ?? ''}`,
        head_sha: headSha,
        head_branch: String(b.ref),
        path: `.github/workflows/${req.params.workflow_id}`,
        ...(state.dispatchAnswer === 'no-content-unlisted' ? { unlisted: true } : {}),
      });
      if (details && state.dispatchAnswer === 'details') {
        return {
          status: 200,
          body: {
            workflow_run_id: id,
            run_url: `${api}/actions/runs/${id}`,
            html_url: `${web}/actions/runs/${id}`,
          },
        };
      }
      return { status: 204 };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs',
    (req) => {
      const runs = [...state.runs.values()].filter(
        (r) =>
          r.path.endsWith(`/${req.params.workflow_id}`) &&
          r.unlisted !== true &&
          (req.query.event === undefined || (r.event ?? 'workflow_dispatch') === req.query.event),
      );
      return { status: 200, body: { total_count: runs.length, workflow_runs: runs.map(runJson) } };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/actions/runs/{run_id}',
    (req) => {
      const run = state.runs.get(Number(req.params.run_id));
      return run
        ? { status: 200, body: runJson(run) }
        : { status: 404, body: { message: 'Not Found' } };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
    (req) => {
      const jobs = state.jobs.get(Number(req.params.run_id)) ?? [];
      const { items, headers } = page(jobs, req);
      return {
        status: 200,
        headers,
        body: {
          total_count: jobs.length,
          jobs: items.map((j) => ({
            ...j,
            run_id: Number(req.params.run_id),
            html_url: `${web}/actions/runs/${req.params.run_id}/job/${j.id}`,
          })),
        },
      };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts',
    (req) => {
      const artifacts = state.artifacts.get(Number(req.params.run_id)) ?? [];
      return {
        status: 200,
        body: {
          total_count: artifacts.length,
          artifacts: artifacts.map((a) => ({
            id: a.id,
            name: a.name,
            expired: false,
            size_in_bytes: a.sizeInBytes ?? a.zip.length,
          })),
        },
      };
    },
    persist,
  );
  gh.reply(
    'GET',
    '/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}',
    (req) => {
      const id = Number(req.params.artifact_id);
      const found = [...state.artifacts.values()].flat().find((a) => a.id === id);
      if (!found) return { status: 404, body: { message: 'Not Found' } };
      // GitHub redirects to short-lived blob storage, on another host.
      nock(BLOB_ORIGIN)
        .get(`/artifacts/${id}.zip`)
        .query(true)
        .reply(200, found.zip, { 'content-type': 'application/zip' });
      return { status: 302, headers: { location: `${BLOB_ORIGIN}/artifacts/${id}.zip?sig=x` } };
    },
    persist,
  );
  gh.reply(
    'POST',
    '/repos/{owner}/{repo}/actions/runs/{run_id}/cancel',
    (req) => {
      const id = Number(req.params.run_id);
      const run = state.runs.get(id);
      if (!run) return { status: 404, body: { message: 'Not Found' } };
      if (run.status === 'completed')
        return {
          status: 409,
          body: { message: 'Cannot cancel a workflow run that is completed.' },
        };
      state.cancelled.push(id);
      return { status: 202, body: {} };
    },
    persist,
  );
  return state;
}

/** Git's blob id of `content`, as the contents API reports it. */
export function blobSha(content: string): string {
  const data = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}
