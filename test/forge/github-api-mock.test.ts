import { Octokit } from '@octokit/rest';
import { afterEach, describe, expect, it } from 'vitest';
import { githubApi, githubApiServer, type GitHubApiMock } from '../support/github-api.js';

// These tests prove the harness fails when it should: a mock that never complains protects nothing.
describe('github-api mock', () => {
  let gh: GitHubApiMock | null = null;
  afterEach(() => gh?.close());

  function octokit(baseUrl: string): Octokit {
    const quiet = () => undefined;
    return new Octokit({
      auth: 'test',
      baseUrl,
      request: { retries: 0 },
      log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    });
  }

  it('answers a documented request, records it with its operation, and passes assertDone', async () => {
    gh = githubApi();
    gh.on('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 201, (req) => ({
      id: 9,
      body: (req.body as { body: string }).body,
    }));
    const res = await octokit(gh.baseUrl).rest.issues.createComment({
      owner: 'o',
      repo: 'r',
      issue_number: 7,
      body: 'hello',
    });
    expect(res.status).toBe(201);
    expect(res.data).toMatchObject({ id: 9, body: 'hello' });
    expect(gh.requests).toHaveLength(1);
    expect(gh.requests[0]).toMatchObject({
      method: 'POST',
      path: '/repos/o/r/issues/7/comments',
      operationId: 'issues/create-comment',
      params: { owner: 'o', repo: 'r', issue_number: '7' },
      body: { body: 'hello' },
      status: 201,
    });
    expect(() => gh?.assertDone()).not.toThrow();
  });

  it('fails on a body that breaks the OpenAPI schema, naming the field', async () => {
    gh = githubApi();
    gh.on('POST', '/repos/{owner}/{repo}/check-runs', 201, { id: 1 }, { optional: true });
    const request = octokit(gh.baseUrl).request('POST /repos/{owner}/{repo}/check-runs', {
      owner: 'o',
      repo: 'r',
      name: 'x',
      head_sha: 'abc',
      status: 'finished' as never, // not in the enum
    });
    await expect(request).rejects.toMatchObject({ status: 400 });
    expect(() => gh?.assertDone()).toThrow(
      /checks\/create.*\/status must be equal to one of the allowed values/,
    );
  });

  it('fails on too many annotations (maxItems 50 from the description)', async () => {
    gh = githubApi();
    const annotations = Array.from({ length: 51 }, (_, i) => ({
      path: 'a.md',
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: 'failure',
      message: 'm',
    }));
    await expect(
      octokit(gh.baseUrl).request('POST /repos/{owner}/{repo}/check-runs', {
        owner: 'o',
        repo: 'r',
        name: 'x',
        head_sha: 'abc',
        output: { title: 't', summary: 's', annotations },
      } as never),
    ).rejects.toMatchObject({ status: 400 });
    expect(() => gh?.assertDone()).toThrow(/annotations must NOT have more than 50 items/);
  });

  it('fails on an undocumented path even when the code swallows the error', async () => {
    gh = githubApi();
    await octokit(gh.baseUrl)
      .request('POST /repos/{owner}/{repo}/issues/{issue_number}/comment', {
        owner: 'o',
        repo: 'r',
        issue_number: 1,
      })
      .catch(() => undefined);
    expect(() => gh?.assertDone()).toThrow(
      /POST \/repos\/o\/r\/issues\/1\/comment is not a documented GitHub REST operation/,
    );
  });

  it('fails on a documented request that no mock answers, naming method and path', async () => {
    gh = githubApi();
    await expect(
      octokit(gh.baseUrl).rest.pulls.list({ owner: 'o', repo: 'r', state: 'open' }),
    ).rejects.toMatchObject({ status: 501 });
    expect(() => gh?.assertDone()).toThrow(
      /unexpected request GET \/repos\/o\/r\/pulls\?state=open \(pulls\/list\)/,
    );
  });

  it('fails on an undocumented or ill-typed query parameter', async () => {
    gh = githubApi();
    const kit = octokit(gh.baseUrl);
    await kit
      .request('GET /repos/{owner}/{repo}/pulls', { owner: 'o', repo: 'r', stat: 'open' })
      .catch(() => undefined);
    await kit
      .request('GET /repos/{owner}/{repo}/pulls', { owner: 'o', repo: 'r', state: 'opn' as never })
      .catch(() => undefined);
    const problems = gh.problems.join('\n');
    expect(problems).toMatch(/query parameter "stat" is not documented for pulls\/list/);
    expect(problems).toMatch(
      /query parameter "state"="opn" must be equal to one of the allowed values/,
    );
    gh.close();
  });

  it('fails when a mock is never used, or used fewer times than promised', async () => {
    gh = githubApi();
    gh.on('GET', '/repos/{owner}/{repo}/pulls', 200, []);
    gh.on('GET', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 200, [], { times: 2 });
    await octokit(gh.baseUrl).rest.issues.listComments({ owner: 'o', repo: 'r', issue_number: 3 });
    expect(() => gh?.assertDone()).toThrow(
      /unused mock: GET \/repos\/\{owner\}\/\{repo\}\/pulls \(never requested\)[\s\S]*requested 1 of 2 times/,
    );
  });

  it('refuses to register a mock for an undocumented operation', () => {
    gh = githubApi();
    expect(() => gh?.on('GET', '/repos/{owner}/{repo}/nonsense', 200, {})).toThrow(
      /not a documented/,
    );
  });

  it('matches concrete path values, so two issues get their own answers', async () => {
    gh = githubApi();
    gh.on('GET', '/repos/o/r/issues/1/comments', 200, [{ id: 1 }]);
    gh.on('GET', '/repos/{owner}/{repo}/issues/2/comments', 200, [{ id: 2 }]);
    const kit = octokit(gh.baseUrl);
    const two = await kit.rest.issues.listComments({ owner: 'o', repo: 'r', issue_number: 2 });
    const one = await kit.rest.issues.listComments({ owner: 'o', repo: 'r', issue_number: 1 });
    expect([one.data, two.data]).toEqual([[{ id: 1 }], [{ id: 2 }]]);
    gh.assertDone();
  });

  it('serves a GitHub Enterprise base URL and rejects requests outside it', async () => {
    gh = githubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
    gh.on('GET', '/repos/{owner}/{repo}/collaborators/{username}/permission', 200, {
      permission: 'write',
      role_name: 'write',
      user: null,
    });
    const res = await octokit(gh.baseUrl).rest.repos.getCollaboratorPermissionLevel({
      owner: 'o',
      repo: 'r',
      username: 'u',
    });
    expect(res.data.permission).toBe('write');
    expect(gh.requests[0]?.url).toBe(
      'https://ghe.example.com/api/v3/repos/o/r/collaborators/u/permission',
    );
    await octokit('https://ghe.example.com')
      .rest.pulls.list({ owner: 'o', repo: 'r' })
      .catch(() => undefined);
    expect(() => gh?.assertDone()).toThrow(
      /outside the API base https:\/\/ghe.example.com\/api\/v3/,
    );
  });

  it('serves a loopback base URL', async () => {
    gh = githubApi({ baseUrl: 'http://127.0.0.1:45678' });
    gh.on('GET', '/repos/{owner}/{repo}/pulls', 200, [], { persist: true });
    const kit = octokit(gh.baseUrl);
    await kit.rest.pulls.list({ owner: 'o', repo: 'r' });
    await kit.rest.pulls.list({ owner: 'o', repo: 'r' });
    expect(gh.requestsTo('GET', '/repos/{owner}/{repo}/pulls')).toHaveLength(2);
    gh.assertDone();
  });

  it('records a request to a host nothing mocks', async () => {
    gh = githubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
    await octokit('https://api.github.com')
      .rest.pulls.list({ owner: 'o', repo: 'r' })
      .catch(() => undefined);
    expect(() => gh?.assertDone()).toThrow(
      /host nothing mocks: GET https:\/\/api.github.com\/repos\/o\/r\/pulls/,
    );
  });

  it('runs as a real loopback HTTP server (for other processes) with the same checks', async () => {
    gh = await githubApiServer({ prefix: '/api/v3' });
    expect(gh.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v3$/);
    gh.on('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 201, { id: 1 });
    const kit = octokit(gh.baseUrl);
    await kit.rest.issues.createComment({ owner: 'o', repo: 'r', issue_number: 1, body: 'x' });
    await kit
      .request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: 'o',
        repo: 'r',
        issue_number: 1,
        bodyy: 'x',
      } as never)
      .catch(() => undefined);
    expect(gh.requests[0]?.body).toEqual({ body: 'x' });
    expect(() => gh?.assertDone()).toThrow(/must have required property 'body'/);
  });
});
