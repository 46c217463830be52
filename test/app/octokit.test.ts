import { afterEach, describe, expect, it } from 'vitest';
import { AppOctokit } from '../../src/app/octokit.js';
import { githubApi, type GitHubApiMock } from '../support/github-api.js';

describe('AppOctokit (the server’s Octokit)', () => {
  let gh: GitHubApiMock | null = null;
  afterEach(() => gh?.assertDone());

  function octokit(baseUrl: string) {
    return new AppOctokit({
      auth: { token: 'test' },
      baseUrl,
      retry: { retryAfterBaseValue: 1 },
      throttle: { enabled: false },
    } as never);
  }

  const postComment = (o: InstanceType<typeof AppOctokit>) =>
    o.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: 'o',
      repo: 'r',
      issue_number: 7,
      body: 'x',
    });

  it('leaves spacing and rate limits to the forge: the throttling plugin does not queue writes again', async () => {
    gh = githubApi();
    gh.on('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 403, {
      message: 'You have exceeded a secondary rate limit.',
    });
    const limited: number[] = [];
    // As Probot builds it: the plugin on, with its handlers.
    const o = new AppOctokit({
      auth: { token: 'test' },
      baseUrl: gh.baseUrl,
      throttle: {
        enabled: true,
        onRateLimit: () => void limited.push(1),
        onSecondaryRateLimit: () => void limited.push(2),
      },
    } as never);
    await expect(postComment(o)).rejects.toMatchObject({ status: 403 });
    expect(limited).toEqual([]);
  });

  it('retries a read after a server error', async () => {
    gh = githubApi();
    gh.on('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', 502, { message: 'Bad Gateway' });
    gh.on('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', 200, { number: 7 });
    const { data } = await octokit(gh.baseUrl).request(
      'GET /repos/{owner}/{repo}/pulls/{pull_number}',
      { owner: 'o', repo: 'r', pull_number: 7 },
    );
    expect(data).toMatchObject({ number: 7 });
    expect(gh.requests).toHaveLength(2);
  });

  it('never repeats a write after a server error, nor anything answered 409', async () => {
    gh = githubApi();
    gh.on('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', 502, {
      message: 'Bad Gateway',
    });
    gh.on('POST', '/repos/{owner}/{repo}/merges', 409, { message: 'Merge conflict' });
    gh.on('GET', '/repos/{owner}/{repo}/pulls/{pull_number}', 409, { message: 'Conflict' });
    const o = octokit(gh.baseUrl);
    await expect(postComment(o)).rejects.toMatchObject({ status: 502 });
    await expect(
      o.request('POST /repos/{owner}/{repo}/merges', {
        owner: 'o',
        repo: 'r',
        base: 'main',
        head: 'x',
      }),
    ).rejects.toMatchObject({ status: 409 });
    await expect(
      o.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner: 'o',
        repo: 'r',
        pull_number: 7,
      }),
    ).rejects.toMatchObject({ status: 409 });
    expect(gh.requests.map((r) => r.status)).toEqual([502, 409, 409]);
  });
});
