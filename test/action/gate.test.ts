import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTriggerEvent } from '../../src/action/event.js';
import { gateTrigger } from '../../src/action/gate.js';
import { createGitHubForge } from '../../src/forge/github.js';
import { createOctokit } from '../../src/forge/octokit.js';
import { useGitHubApi, type GitHubApiMock } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { fakeTime } from '../support/fake-time.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-gate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real issue_comment payload, as the runner would hand it over in GITHUB_EVENT_PATH. */
async function commentEvent(
  body: string,
  options: { user?: string; bot?: boolean; pr?: boolean } = {},
) {
  let payload = retarget(webhookExample('issue_comment.created'), {
    owner: 'acme',
    repo: 'widgets',
  });
  if (options.pr !== false) {
    payload = asPullRequestComment(payload, {
      number: 7,
      body,
      user: options.user ?? 'alice',
      userType: options.bot ? 'Bot' : 'User',
    });
  } else {
    payload.comment.body = body;
  }
  const file = join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(payload));
  return { event: await readTriggerEvent('issue_comment', file), commentId: payload.comment.id };
}

function forgeFor(gh: GitHubApiMock) {
  const time = fakeTime();
  return createGitHubForge({
    octokit: createOctokit({ token: 't', baseUrl: gh.baseUrl }),
    owner: 'acme',
    repo: 'widgets',
    sleep: time.sleep,
    clock: time.clock,
  });
}

/** What the collaborator-permission API answers for the commenter. */
function hasPermission(gh: GitHubApiMock, permission: string, user = 'alice'): void {
  gh.on('GET', `/repos/acme/widgets/collaborators/${user}/permission`, 200, {
    permission,
    role_name: permission,
    user: null,
  });
}

const pr = (headRepo: string) => ({
  number: 7,
  html_url: 'https://github.com/acme/widgets/pull/7',
  state: 'open',
  title: 't',
  body: '',
  head: { ref: 'feature', sha: 'f'.repeat(40), repo: { full_name: headRepo } },
  base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
});

describe('comment gate', () => {
  const api = useGitHubApi();

  it('lets a writer start a run, reacts to the comment, and reads group and --dry-run', async () => {
    const gh = api();
    const { event, commentId } = await commentEvent('/parallel-run 2 --dry-run');
    hasPermission(gh, 'write');
    gh.on('GET', '/repos/acme/widgets/pulls/7', 200, pr('acme/widgets'));
    gh.on('POST', `/repos/acme/widgets/issues/comments/${commentId}/reactions`, 201, {
      id: 1,
      content: 'rocket',
    });
    const result = await gateTrigger(event, forgeFor(gh), { allowBots: false });
    expect(result).toEqual({
      allowed: true,
      group: '2',
      dryRun: true,
      pullRequest: 7,
      headSha: 'f'.repeat(40),
      headRef: 'feature',
    });
  });

  it('answers a reader politely and starts nothing', async () => {
    const gh = api();
    const { event } = await commentEvent('/parallel-run', { user: 'mallory' });
    hasPermission(gh, 'read', 'mallory');
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 2, html_url: 'u' });
    const result = await gateTrigger(event, forgeFor(gh), { allowBots: false });
    expect(result).toEqual({ allowed: false, reason: 'mallory has read permission' });
    expect(String((gh.requestsTo('POST')[0]?.body as { body: string }).body)).toMatch(
      /@mallory only people with write access/,
    );
  });

  it('refuses a fork PR with a comment saying why', async () => {
    const gh = api();
    const { event } = await commentEvent('/parallel-run');
    hasPermission(gh, 'admin');
    gh.on('GET', '/repos/acme/widgets/pulls/7', 200, pr('mallory/widgets'));
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 2, html_url: 'u' });
    const result = await gateTrigger(event, forgeFor(gh), { allowBots: false });
    expect(result).toMatchObject({ allowed: false, reason: 'pull request from a fork' });
    expect(String((gh.requestsTo('POST')[0]?.body as { body: string }).body)).toMatch(
      /from forks \(mallory\/widgets\)/,
    );
  });

  it('answers a hostile comment as text: nothing in it runs', async () => {
    const gh = api();
    const canary = join(dir, 'comment-canary');
    const body = `/parallel-run $(touch ${canary}) \`touch ${canary}\` \${{ secrets.X }} $(rm -rf ~)`;
    const { event } = await commentEvent(body);
    hasPermission(gh, 'write');
    gh.on('GET', '/repos/acme/widgets/pulls/7', 200, pr('acme/widgets'));
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 2, html_url: 'u' });
    const result = await gateTrigger(event, forgeFor(gh), { allowBots: false });
    expect(result).toEqual({ allowed: false, reason: 'give one group id, or `all`' });
    const reply = String((gh.requestsTo('POST')[0]?.body as { body: string }).body);
    expect(reply).toBe(
      'Sorry, I did not understand that command: give one group id, or `all`. The action alone understands `/parallel-run [group ID|all] [--dry-run]`.',
    );
    await expect(stat(canary)).rejects.toThrow();
  });

  it('echoes a hostile group id back as inline code, never as a group', async () => {
    const gh = api();
    const { event } = await commentEvent('/parallel-run $(id)`whoami`');
    hasPermission(gh, 'write');
    gh.on('GET', '/repos/acme/widgets/pulls/7', 200, pr('acme/widgets'));
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 2, html_url: 'u' });
    const result = await gateTrigger(event, forgeFor(gh), { allowBots: false });
    expect(result).toEqual({ allowed: false, reason: "`$(id)'whoami'` is not a group id" });
    const reply = String((gh.requestsTo('POST')[0]?.body as { body: string }).body);
    expect(reply).toBe(
      "Sorry, I did not understand that command: `$(id)'whoami'` is not a group id. The action alone understands `/parallel-run [group ID|all] [--dry-run]`.",
    );
  });

  it('reads the command on a later line of the comment and runs every group for `all`', async () => {
    const gh = api();
    const { event, commentId } = await commentEvent('Looks good.\n/parallel-run all --dry-run');
    hasPermission(gh, 'write');
    gh.on('GET', '/repos/acme/widgets/pulls/7', 200, pr('acme/widgets'));
    gh.on('POST', `/repos/acme/widgets/issues/comments/${commentId}/reactions`, 201, {
      id: 1,
      content: 'rocket',
    });
    expect(await gateTrigger(event, forgeFor(gh), { allowBots: false })).toEqual({
      allowed: true,
      group: null,
      dryRun: true,
      pullRequest: 7,
      headSha: 'f'.repeat(40),
      headRef: 'feature',
    });
  });

  it('ignores other comments and bots without a single request', async () => {
    const gh = api();
    const chatter = await commentEvent('Looks good to me');
    const bot = await commentEvent('/parallel-run', { user: 'renovate[bot]', bot: true });
    expect(await gateTrigger(chatter.event, forgeFor(gh), { allowBots: false })).toMatchObject({
      allowed: false,
    });
    expect(await gateTrigger(bot.event, forgeFor(gh), { allowBots: false })).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/bots/),
    });
    expect(gh.requests).toHaveLength(0);
  });

  it('says the command works on PRs only when used on an issue', async () => {
    const gh = api();
    const { event } = await commentEvent('/parallel-run', { pr: false });
    gh.on('POST', '/repos/acme/widgets/issues/{issue_number}/comments', 201, {
      id: 2,
      html_url: 'u',
    });
    expect(await gateTrigger(event, forgeFor(gh), { allowBots: false })).toMatchObject({
      reason: 'not a pull request',
    });
  });

  it('lets other events through without asking anything', async () => {
    const gh = api();
    expect(
      await gateTrigger({ kind: 'other', name: 'workflow_dispatch' }, forgeFor(gh), {
        allowBots: false,
      }),
    ).toMatchObject({
      allowed: true,
    });
  });
});
