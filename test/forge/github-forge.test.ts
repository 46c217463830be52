import { ProbotOctokit } from 'probot';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/engine/ports/logger.js';
import { GitHubApiError } from '../../src/forge/errors.js';
import { createGitHubForge, type GitHubForgeOptions } from '../../src/forge/github.js';
import { COMMENT_LIMIT } from '../../src/forge/limits.js';
import { createOctokit, resolveApiBaseUrl } from '../../src/forge/octokit.js';
import { createWriteQueue, WritePriority } from '../../src/forge/policy.js';
import {
  githubApi,
  useGitHubApi,
  type GitHubApiMock,
  type RecordedRequest,
} from '../support/github-api.js';
import { fakeTime } from '../support/fake-time.js';

const OWNER = 'acme';
const REPO = 'widgets';
const MARKER = '<!-- parallel-executor:report -->';

interface LogLine {
  level: string;
  message: string;
  data: Record<string, unknown> | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const log = (level: string) => (message: string, data?: Record<string, unknown>) =>
    void lines.push({ level, message, data });
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function setup(gh: GitHubApiMock, options: Partial<GitHubForgeOptions> = {}) {
  const time = fakeTime();
  const logs: LogLine[] = [];
  const forge = createGitHubForge({
    octokit: createOctokit({ token: 'test-token', baseUrl: gh.baseUrl }),
    owner: OWNER,
    repo: REPO,
    clock: time.clock,
    sleep: time.sleep,
    logger: recordingLogger(logs),
    ...options,
  });
  return { forge, time, logs };
}

function comment(id: number, body: string, login = 'github-actions[bot]') {
  return {
    id,
    body,
    html_url: `https://github.com/${OWNER}/${REPO}/pull/7#issuecomment-${id}`,
    user: { login },
  };
}

function pull(number: number, head: string, headRepo: string | null = `${OWNER}/${REPO}`) {
  return {
    number,
    html_url: `https://github.com/${OWNER}/${REPO}/pull/${number}`,
    state: 'open',
    title: 't',
    body: 'b',
    head: {
      ref: head,
      sha: 'a'.repeat(40),
      repo: headRepo === null ? null : { full_name: headRepo },
    },
    base: { ref: 'main', repo: { full_name: `${OWNER}/${REPO}` } },
  };
}

const bodyOf = (req: RecordedRequest) => req.body as Record<string, unknown>;

describe('GitHub forge: comments', () => {
  const api = useGitHubApi();

  it('creates the marked comment when none exists, then edits it without searching again', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [comment(1, 'unrelated')], {
      query: { per_page: '100' },
    });
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, (req) =>
      comment(55, String(bodyOf(req).body)),
    );
    gh.on('PATCH', '/repos/acme/widgets/issues/comments/55', 200, (req) =>
      comment(55, String(bodyOf(req).body)),
    );
    const created = await forge.upsertComment(7, 'report', 'first');
    expect(created).toEqual({ id: 55, url: expect.stringContaining('issuecomment-55') });
    await forge.upsertComment(7, 'report', 'second');
    expect(gh.requestsTo('POST')[0]?.body).toEqual({ body: `${MARKER}\nfirst` });
    expect(gh.requestsTo('PATCH')[0]?.body).toEqual({ body: `${MARKER}\nsecond` });
    expect(gh.requests).toHaveLength(3);
  });

  it('finds the marker on a later page and edits that comment', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const page1 = Array.from({ length: 100 }, (_, i) => comment(i + 1, `chatter ${i}`, 'someone'));
    const next = `<${gh.baseUrl}/repos/acme/widgets/issues/7/comments?per_page=100&page=2>; rel="next"`;
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, page1, {
      match: (req) => req.query.page === undefined,
      headers: { link: next },
    });
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [comment(900, `${MARKER}\nold`)], {
      query: { page: '2' },
    });
    gh.on('PATCH', '/repos/acme/widgets/issues/comments/900', 200, comment(900, 'x'));
    expect((await forge.upsertComment(7, MARKER, 'new')).id).toBe(900);
  });

  // Listings follow GitHub's Link header (octokit.paginate): a full page that is the last one
  // costs no request for an empty next page, and the search stops at the page with the marker.
  it('reads comments page by page as the Link header says, and no further than needed', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const full = Array.from({ length: 100 }, (_, i) => comment(i + 1, `chatter ${i}`, 'someone'));
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, full);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(200, 'x'));
    await forge.upsertComment(7, 'report', 'new');
    expect(gh.requestsTo('GET')).toHaveLength(1);

    const link = `<${gh.baseUrl}/repos/acme/widgets/issues/8/comments?per_page=100&page=2>; rel="next"`;
    gh.on('GET', '/repos/acme/widgets/issues/8/comments', 200, [comment(5, `${MARKER}\nsame`)], {
      headers: { link },
    });
    expect(await forge.findComment(8, 'report')).toMatchObject({ id: 5 });
    expect(gh.requestsTo('GET')).toHaveLength(2);
  });

  it('does not spend a write when the text is unchanged', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [comment(3, `${MARKER}\nsame`)]);
    expect((await forge.upsertComment(7, 'report', 'same')).id).toBe(3);
    expect(gh.requestsTo('PATCH')).toHaveLength(0);
  });

  it('ignores a marker pasted into somebody else comment when markerAuthor is set', async () => {
    const gh = api();
    const { forge } = setup(gh, { markerAuthor: 'pe-app[bot]' });
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [
      comment(3, `${MARKER}\nforged`, 'mallory'),
    ]);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(4, 'x', 'pe-app[bot]'));
    expect((await forge.upsertComment(7, 'report', 'real')).id).toBe(4);
  });

  it('creates a new comment when the remembered one was deleted', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [comment(3, `${MARKER}\nold`)]);
    gh.on('PATCH', '/repos/acme/widgets/issues/comments/3', 200, comment(3, 'x'));
    gh.on('PATCH', '/repos/acme/widgets/issues/comments/3', 404, { message: 'Not Found' });
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(8, 'x'));
    await forge.upsertComment(7, 'report', 'one');
    expect((await forge.upsertComment(7, 'report', 'two')).id).toBe(8);
  });

  it('caps a huge body below 60,000 characters with the marker first and a note on what was cut', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, []);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(1, 'x'));
    const huge = Array.from({ length: 4000 }, (_, i) => `| task ${i} | ${'█'.repeat(30)} |`).join(
      '\n',
    );
    await forge.upsertComment(7, 'report', huge);
    const sent = String(bodyOf(gh.requestsTo('POST')[0] as RecordedRequest).body);
    expect(sent.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    expect(sent.startsWith(`${MARKER}\n`)).toBe(true);
    expect(sent).toMatch(/characters \([\d,]+ lines\) were left out/);
  });

  it('runs two concurrent upserts of one marker one after the other (one comment, not two)', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, []);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(5, 'x'));
    gh.on('PATCH', '/repos/acme/widgets/issues/comments/5', 200, comment(5, 'y'));
    await Promise.all([
      forge.upsertComment(7, 'report', 'a'),
      forge.upsertComment(7, 'report', 'b'),
    ]);
    expect(gh.requestsTo('POST')).toHaveLength(1);
  });

  it('adds a reaction', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', '/repos/acme/widgets/issues/comments/{comment_id}/reactions', 201, {
      id: 1,
      content: 'eyes',
    });
    await forge.addReaction(123, 'eyes');
    expect(gh.requests[0]).toMatchObject({
      params: { comment_id: '123' },
      body: { content: 'eyes' },
    });
  });
});

describe('GitHub forge: check runs', () => {
  const api = useGitHubApi();
  const annotation = (i: number) => ({
    path: 'MULTI_AGENT_PLAN.md',
    start_line: i + 1,
    end_line: i + 1,
    annotation_level: 'failure' as const,
    message: `problem ${i}`,
  });

  it('sends 120 annotations as 50 + 50 + 20 and caps the summary', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', '/repos/{owner}/{repo}/check-runs', 201, { id: 77 });
    gh.on('PATCH', '/repos/acme/widgets/check-runs/77', 200, { id: 77 }, { times: 2 });
    const { id } = await forge.createCheckRun({
      name: 'plan',
      headSha: 'b'.repeat(40),
      status: 'completed',
      conclusion: 'failure',
      externalId: 'exec-1',
      output: {
        title: 'Plan invalid',
        summary: 'x'.repeat(70_000),
        annotations: Array.from({ length: 120 }, (_, i) => annotation(i)),
      },
    });
    expect(id).toBe(77);
    const [create, ...updates] = gh.requests.map(bodyOf) as Array<{
      output: { summary: string; annotations: Array<{ start_line: number }> };
      external_id?: string;
    }>;
    expect(create?.external_id).toBe('exec-1');
    expect(create?.output.summary.length).toBeLessThanOrEqual(65_535);
    expect([create, ...updates].map((b) => b?.output.annotations.length)).toEqual([50, 50, 20]);
    expect(updates[1]?.output.annotations.at(-1)?.start_line).toBe(120);
  });

  it('updates status and conclusion in GitHub field names', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('PATCH', '/repos/acme/widgets/check-runs/9', 200, { id: 9 });
    await forge.updateCheckRun(9, {
      status: 'completed',
      conclusion: 'success',
      detailsUrl: 'https://x/y',
    });
    expect(gh.requests[0]?.body).toEqual({
      status: 'completed',
      conclusion: 'success',
      details_url: 'https://x/y',
    });
  });

  it('refuses a fourth button before sending anything', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const action = { label: 'Retry', identifier: 'retry', description: 'Retry' };
    await expect(
      forge.createCheckRun({
        name: 'x',
        headSha: 'c',
        status: 'queued',
        actions: [action, action, action, action],
      }),
    ).rejects.toThrow(/at most 3 actions/);
    expect(gh.requests).toHaveLength(0);
  });

  it('lists check runs across pages', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const run = (id: number) => ({
      id,
      name: `task ${id}`,
      head_sha: 'd',
      status: 'queued',
      conclusion: null,
      external_id: 'exec-1',
      details_url: null,
      html_url: null,
      output: { title: null, summary: null },
    });
    gh.on(
      'GET',
      '/repos/acme/widgets/commits/main/check-runs',
      200,
      {
        total_count: 101,
        check_runs: Array.from({ length: 100 }, (_, i) => run(i + 1)),
      },
      {
        match: (req) => req.query.page === undefined,
        headers: {
          link: `<${gh.baseUrl}/repos/acme/widgets/commits/main/check-runs?per_page=100&page=2>; rel="next"`,
        },
      },
    );
    gh.on(
      'GET',
      '/repos/acme/widgets/commits/main/check-runs',
      200,
      { total_count: 101, check_runs: [run(101)] },
      {
        query: { page: '2' },
      },
    );
    const runs = await forge.listCheckRuns('main');
    expect(runs).toHaveLength(101);
    expect(runs[100]).toMatchObject({
      id: 101,
      name: 'task 101',
      externalId: 'exec-1',
      status: 'queued',
    });
  });
});

describe('GitHub forge: pull requests', () => {
  const api = useGitHubApi();
  const input = {
    head: 'pe/integration/exec-1',
    base: 'main',
    title: 'Integration',
    body: 'report',
  };

  it('edits the open PR for the same head', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls', 200, [pull(12, input.head)], {
      query: { state: 'open', head: `acme:${input.head}` },
    });
    gh.on('PATCH', '/repos/acme/widgets/pulls/12', 200, pull(12, input.head));
    expect(await forge.upsertPullRequest(input)).toEqual({
      number: 12,
      url: expect.stringContaining('/pull/12'),
    });
  });

  it('opens one when none is open', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls', 200, []);
    gh.on('POST', '/repos/acme/widgets/pulls', 201, pull(13, input.head));
    expect((await forge.upsertPullRequest(input)).number).toBe(13);
    expect(gh.requestsTo('POST')[0]?.body).toEqual({
      head: input.head,
      base: 'main',
      title: 'Integration',
      body: 'report',
    });
  });

  it('edits the PR someone opened between the search and the create', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls', 200, []);
    gh.on('POST', '/repos/acme/widgets/pulls', 422, {
      message: 'A pull request already exists for acme:pe/integration/exec-1.',
    });
    gh.on('GET', '/repos/acme/widgets/pulls', 200, [pull(14, input.head)]);
    gh.on('PATCH', '/repos/acme/widgets/pulls/14', 200, pull(14, input.head));
    expect((await forge.upsertPullRequest(input)).number).toBe(14);
  });

  it('creates without searching first when asked, and still edits one that exists', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', '/repos/acme/widgets/pulls', 201, pull(15, input.head));
    expect((await forge.upsertPullRequest(input, { createFirst: true })).number).toBe(15);
    expect(gh.requests.map((r) => r.method)).toEqual(['POST']);

    gh.on('POST', '/repos/acme/widgets/pulls', 422, {
      message: 'A pull request already exists for acme:pe/integration/exec-1.',
    });
    gh.on('GET', '/repos/acme/widgets/pulls', 200, [pull(15, input.head)]);
    gh.on('PATCH', '/repos/acme/widgets/pulls/15', 200, pull(15, input.head));
    expect((await forge.upsertPullRequest(input, { createFirst: true })).number).toBe(15);
  });

  it('tells a fork PR from a same-repository one', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls/1', 200, pull(1, 'feature'));
    gh.on('GET', '/repos/acme/widgets/pulls/2', 200, pull(2, 'feature', 'mallory/widgets'));
    gh.on('GET', '/repos/acme/widgets/pulls/3', 200, pull(3, 'feature', null));
    const [own, fork, gone] = await Promise.all([1, 2, 3].map((n) => forge.getPullRequest(n)));
    expect([own?.fromFork, fork?.fromFork, gone?.fromFork]).toEqual([false, true, true]);
    expect(fork?.headRepo).toBe('mallory/widgets');
  });
});

describe('GitHub forge: workflow dispatch', () => {
  const api = useGitHubApi();
  const route = '/repos/acme/widgets/actions/workflows/parallel-run.yml/dispatches';

  it('asks for run details and returns the run', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', route, 200, {
      workflow_run_id: 4242,
      run_url: 'https://api.github.com/repos/acme/widgets/actions/runs/4242',
      html_url: 'https://github.com/acme/widgets/actions/runs/4242',
    });
    const result = await forge.dispatchWorkflow('parallel-run.yml', 'main', {
      'execution-id': 'e1',
    });
    expect(result).toEqual({
      runId: 4242,
      url: 'https://github.com/acme/widgets/actions/runs/4242',
    });
    expect(gh.requests[0]?.body).toEqual({
      ref: 'main',
      inputs: { 'execution-id': 'e1' },
      return_run_details: true,
    });
  });

  it('falls back to the correlation id when the server answers 204', async () => {
    const gh = api();
    const { forge, time } = setup(gh);
    gh.on('POST', route, 204);
    const runs = '/repos/acme/widgets/actions/workflows/parallel-run.yml/runs';
    gh.on('GET', runs, 200, { total_count: 0, workflow_runs: [] });
    gh.on(
      'GET',
      runs,
      200,
      {
        total_count: 2,
        workflow_runs: [
          {
            // Same correlation id, but from long before this dispatch: not ours.
            id: 3,
            name: 'parallel-run',
            display_title: 'parallel-run corr-abc',
            html_url: 'https://x/3',
            created_at: '2025-12-31T09:00:00Z',
          },
          {
            id: 1,
            name: 'parallel-run',
            display_title: 'parallel-run corr-other',
            html_url: 'https://x/1',
            created_at: '2026-01-01T12:00:02Z',
          },
          {
            id: 2,
            name: 'parallel-run',
            display_title: 'parallel-run corr-abc',
            html_url: 'https://x/2',
            created_at: '2026-01-01T12:00:03Z',
          },
        ],
      },
      {
        match: (req) => req.query.event === 'workflow_dispatch' && req.query.per_page === '50',
      },
    );
    const result = await forge.dispatchWorkflow(
      'parallel-run.yml',
      'main',
      { correlation: 'corr-abc' },
      {
        correlationId: 'corr-abc',
      },
    );
    expect(result).toEqual({ runId: 2, url: 'https://x/2' });
    expect(time.sleeps).toEqual([1000, 2000]);
  });

  it('returns no run when 204 and no correlation id was given', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', route, 204);
    expect(await forge.dispatchWorkflow('parallel-run.yml', 'main', {})).toEqual({
      runId: null,
      url: null,
    });
  });

  it('sends again without return_run_details when the server refuses that field', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', route, 422, {
      message: 'Invalid request.\n\n"return_run_details" is not a permitted key.',
    });
    gh.on('POST', route, 204, undefined, {
      match: (req) => !('return_run_details' in bodyOf(req)),
    });
    expect(await forge.dispatchWorkflow('parallel-run.yml', 'main', {})).toEqual({
      runId: null,
      url: null,
    });
  });

  it('refuses more than 25 inputs before sending', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const inputs = Object.fromEntries(Array.from({ length: 26 }, (_, i) => [`k${i}`, 'v']));
    await expect(forge.dispatchWorkflow('parallel-run.yml', 'main', inputs)).rejects.toThrow(
      /at most 25 inputs/,
    );
  });
});

describe('GitHub forge: retries, rate limits and spacing', () => {
  const api = useGitHubApi();

  it('never repeats a comment POST after a 502, and says why', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 502, { message: 'Bad Gateway' });
    const error = await forge.createComment(7, 'hi').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect(error).toMatchObject({ status: 502, hint: expect.stringMatching(/not retried/) });
    expect(gh.requests).toHaveLength(1);
  });

  it('never repeats a dispatch after a 500 even through an Octokit with the retry plugin', async () => {
    const gh = api();
    const Octokit = ProbotOctokit.defaults({ baseUrl: gh.baseUrl, throttle: { enabled: false } });
    const forge = createGitHubForge({
      octokit: new Octokit({ auth: { token: 't' } }),
      owner: OWNER,
      repo: REPO,
    });
    gh.on('POST', '/repos/acme/widgets/actions/workflows/w.yml/dispatches', 500, {
      message: 'boom',
    });
    await expect(forge.dispatchWorkflow('w.yml', 'main', {})).rejects.toMatchObject({
      status: 500,
    });
    expect(gh.requests).toHaveLength(1);
  });

  it('retries an idempotent read after 5xx with back-off', async () => {
    const gh = api();
    const { forge, time } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls/5', 503, { message: 'unavailable' });
    gh.on('GET', '/repos/acme/widgets/pulls/5', 502, { message: 'bad gateway' });
    gh.on('GET', '/repos/acme/widgets/pulls/5', 200, pull(5, 'x'));
    expect((await forge.getPullRequest(5)).number).toBe(5);
    expect(time.sleeps).toEqual([1000, 2000]);
  });

  it('waits out retry-after on a rate-limited POST, then sends it once more', async () => {
    const gh = api();
    const { forge, time, logs } = setup(gh);
    gh.on(
      'POST',
      '/repos/acme/widgets/issues/7/comments',
      403,
      { message: 'You have exceeded a secondary rate limit.' },
      {
        headers: { 'retry-after': '7' },
      },
    );
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, comment(1, 'x'));
    await forge.createComment(7, 'hi');
    expect(time.sleeps).toEqual([7000]);
    expect(logs.some((l) => l.level === 'warn' && l.data?.waitMs === 7000)).toBe(true);
  });

  it('waits until x-ratelimit-reset when the primary limit is spent', async () => {
    const gh = api();
    const { forge, time } = setup(gh);
    const reset = String(Math.floor(time.clock.now().getTime() / 1000) + 30);
    gh.on(
      'GET',
      '/repos/acme/widgets/pulls/5',
      403,
      { message: 'API rate limit exceeded' },
      {
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      },
    );
    gh.on('GET', '/repos/acme/widgets/pulls/5', 200, pull(5, 'x'));
    await forge.getPullRequest(5);
    expect(time.sleeps).toEqual([31_000]);
  });

  it('fails with the wait in the hint when the limit resets too far away', async () => {
    const gh = api();
    const { forge } = setup(gh, { maxRateLimitWaitMs: 60_000 });
    gh.on(
      'GET',
      '/repos/acme/widgets/pulls/5',
      429,
      { message: 'slow down' },
      { headers: { 'retry-after': '3600' } },
    );
    await expect(forge.getPullRequest(5)).rejects.toMatchObject({
      hint: expect.stringMatching(/wait 3600 s/),
    });
  });

  it('does not retry a 403 that is a missing permission', async () => {
    const gh = api();
    const { forge } = setup(gh);
    gh.on('POST', '/repos/{owner}/{repo}/check-runs', 403, {
      message: 'Resource not accessible by integration',
    });
    await expect(
      forge.createCheckRun({ name: 'x', headSha: 'a', status: 'queued' }),
    ).rejects.toMatchObject({
      status: 403,
      hint: expect.stringMatching(/checks: write/),
    });
  });

  it('spaces writes at least one second apart and lets reads through', async () => {
    const gh = api();
    const { forge, time } = setup(gh);
    const at: number[] = [];
    gh.on(
      'POST',
      '/repos/acme/widgets/issues/{issue_number}/comments',
      201,
      () => {
        at.push(time.elapsed());
        return comment(1, 'x');
      },
      { times: 3 },
    );
    gh.on('GET', '/repos/acme/widgets/pulls/5', 200, () => {
      at.push(-time.elapsed());
      return pull(5, 'x');
    });
    await Promise.all([
      forge.createComment(1, 'a'),
      forge.createComment(2, 'b'),
      forge.getPullRequest(5),
      forge.createComment(3, 'c'),
    ]);
    const writes = at.filter((t) => t >= 0 && !Object.is(t, -0));
    expect(writes).toEqual([0, 1000, 2000]);
    expect(gh.requests.findIndex((r) => r.method === 'GET')).toBeLessThan(2);
  });

  it('shares a write queue between forges', async () => {
    const gh = api();
    const time = fakeTime();
    const queue = createWriteQueue({ clock: time.clock, sleep: time.sleep });
    const make = () =>
      createGitHubForge({
        octokit: createOctokit({ token: 't', baseUrl: gh.baseUrl }),
        owner: OWNER,
        repo: REPO,
        writeQueue: queue,
      });
    gh.on('POST', '/repos/acme/widgets/issues/{issue_number}/comments', 201, comment(1, 'x'), {
      times: 2,
    });
    await Promise.all([make().createComment(1, 'a'), make().createComment(2, 'b')]);
    expect(time.sleeps).toEqual([1000]);
  });

  it('sends waiting writes by priority (equal ones in order), still one at a time and spaced', async () => {
    const time = fakeTime();
    const queue = createWriteQueue({ clock: time.clock, sleep: time.sleep });
    const order: string[] = [];
    const write = (name: string, priority?: number) =>
      queue.run(async () => void order.push(name), priority);
    await Promise.all([
      write('first'),
      write('reaction'),
      write('check run', WritePriority.normal),
      write('summary', WritePriority.record),
      write('dispatch', WritePriority.dispatch),
      write('lock', WritePriority.lock),
    ]);
    // The first went out at once; the rest waited and were picked by priority.
    expect(order).toEqual(['first', 'dispatch', 'lock', 'summary', 'reaction', 'check run']);
    expect(time.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
  });
});

describe('GitHub forge: dry run', () => {
  const api = useGitHubApi();

  it('sends no write, logs each one, and still reads', async () => {
    const gh = api();
    const { forge, logs } = setup(gh, { dryRun: true });
    gh.on('GET', '/repos/acme/widgets/collaborators/alice/permission', 200, {
      permission: 'write',
      role_name: 'write',
      user: null,
    });
    await forge.upsertComment(7, 'report', 'body');
    await forge.createComment(7, 'hi');
    await forge.addReaction(1, 'eyes');
    await forge.createCheckRun({ name: 'x', headSha: 'a', status: 'queued' });
    await forge.updateCheckRun(1, { status: 'in_progress' });
    await forge.upsertPullRequest({ head: 'h', base: 'main', title: 't', body: 'b' });
    await forge.dispatchWorkflow('w.yml', 'main', { a: 'b' });
    await forge.createOrUpdateFile({ path: 'p', branch: 'b', content: 'c', message: 'm' });
    expect((await forge.getCollaboratorPermission('alice')).canWrite).toBe(true);
    expect(gh.requests.map((r) => r.method)).toEqual(['GET']);
    expect(logs.filter((l) => l.message === 'dry run: not sending')).toHaveLength(8);
  });
});

describe('GitHub forge: repository', () => {
  const api = useGitHubApi();

  it('reads collaborator permission, treating 404 as none and custom roles by their base level', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const perm = '/repos/acme/widgets/collaborators/{username}/permission';
    gh.on(
      'GET',
      perm,
      200,
      { permission: 'admin', role_name: 'admin', user: null },
      { match: (r) => r.params.username === 'root' },
    );
    gh.on(
      'GET',
      perm,
      200,
      { permission: 'read', role_name: 'read', user: null },
      { match: (r) => r.params.username === 'reader' },
    );
    gh.on(
      'GET',
      perm,
      200,
      { permission: 'write', role_name: 'maintain', user: null },
      { match: (r) => r.params.username === 'm' },
    );
    gh.on(
      'GET',
      perm,
      200,
      { permission: 'write', role_name: 'releaser', user: null },
      { match: (r) => r.params.username === 'c' },
    );
    gh.on(
      'GET',
      perm,
      404,
      { message: 'Not Found' },
      { match: (r) => r.params.username === 'stranger' },
    );
    const results = await Promise.all(
      ['root', 'reader', 'm', 'c', 'stranger'].map((u) => forge.getCollaboratorPermission(u)),
    );
    expect(results.map((r) => [r.permission, r.canWrite])).toEqual([
      ['admin', true],
      ['read', false],
      ['maintain', true],
      ['write', true],
      ['none', false],
    ]);
  });

  it('reads and writes a file whose path has slashes', async () => {
    const gh = api();
    const { forge } = setup(gh);
    const text = '# Plan ✓\n';
    gh.on(
      'GET',
      '/repos/acme/widgets/contents/docs%2FMULTI_AGENT_PLAN.md',
      200,
      {
        type: 'file',
        encoding: 'base64',
        content: Buffer.from(text).toString('base64'),
        sha: 'blob1',
      },
      { query: { ref: 'feature/x' } },
    );
    gh.on('GET', '/repos/acme/widgets/contents/{path}', 404, { message: 'Not Found' });
    gh.on('PUT', '/repos/acme/widgets/contents/{path}', 200, {
      content: { sha: 'blob2' },
      commit: { sha: 'c2' },
    });
    expect(await forge.getFile('docs/MULTI_AGENT_PLAN.md', 'feature/x')).toEqual({
      content: text,
      sha: 'blob1',
    });
    expect(await forge.getFile('missing.md')).toBeNull();
    expect(
      await forge.createOrUpdateFile({
        path: 'docs/MULTI_AGENT_PLAN.md',
        branch: 'feature/x',
        content: 'new',
        message: 'm',
        sha: 'blob1',
      }),
    ).toEqual({ commitSha: 'c2', contentSha: 'blob2' });
    expect(gh.requestsTo('PUT')[0]).toMatchObject({
      params: { path: 'docs/MULTI_AGENT_PLAN.md' },
      body: {
        message: 'm',
        content: Buffer.from('new').toString('base64'),
        branch: 'feature/x',
        sha: 'blob1',
      },
    });
  });
});

describe('GitHub forge on GitHub Enterprise Server', () => {
  it('talks to GHE_HOST with the /api/v3 prefix', async () => {
    const baseUrl = resolveApiBaseUrl({ GHE_HOST: 'ghe.example.com', GHE_PROTOCOL: 'https' });
    expect(baseUrl).toBe('https://ghe.example.com/api/v3');
    expect(resolveApiBaseUrl({ GITHUB_API_URL: 'http://127.0.0.1:9/', GHE_HOST: 'x' })).toBe(
      'http://127.0.0.1:9',
    );
    expect(resolveApiBaseUrl({})).toBe('https://api.github.com');
    const gh = githubApi({ baseUrl });
    const { forge } = setup(gh);
    gh.on('GET', '/repos/acme/widgets/pulls/1', 200, pull(1, 'x'));
    await forge.getPullRequest(1);
    expect(gh.requests[0]?.url).toBe('https://ghe.example.com/api/v3/repos/acme/widgets/pulls/1');
    gh.assertDone();
  });
});
