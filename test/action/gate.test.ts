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

/** A payload as the runner hands it over in GITHUB_EVENT_PATH, read as the action reads it. */
async function eventFile(name: string, payload: unknown) {
  const file = join(dir, `event-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(payload));
  return readTriggerEvent(name, file);
}

/** A real pull_request payload for acme/widgets#7, its head in `headRepo`, caused by `sender`. */
function pullRequestPayload(headRepo: string, sender: string, action = 'opened') {
  const payload = retarget(webhookExample('pull_request.opened'), {
    owner: 'acme',
    repo: 'widgets',
  });
  payload.action = action as typeof payload.action;
  payload.pull_request.number = 7;
  payload.pull_request.base.repo.full_name = 'acme/widgets';
  payload.pull_request.head.repo!.full_name = headRepo;
  payload.sender.login = sender;
  return payload;
}

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
      await gateTrigger(
        { kind: 'other', name: 'workflow_dispatch', sender: 'alice' },
        forgeFor(gh),
        {
          allowBots: false,
        },
      ),
    ).toMatchObject({
      allowed: true,
    });
  });

  it('starts nothing for an edited or deleted /parallel-run comment, without a request', async () => {
    // A workflow that listens to every issue_comment type gets these too: an old command edited
    // (or deleted) by someone else must not start a run in its author's name.
    const gh = api();
    for (const action of ['edited', 'deleted'] as const) {
      const payload = asPullRequestComment(
        retarget(webhookExample(`issue_comment.${action}`), { owner: 'acme', repo: 'widgets' }),
        { number: 7, body: '/parallel-run all', user: 'alice' },
      );
      const event = await eventFile('issue_comment', payload);
      expect(await gateTrigger(event, forgeFor(gh), { allowBots: false })).toEqual({
        allowed: false,
        reason: `the comment was ${action}, not written`,
      });
    }
    expect(gh.requests).toHaveLength(0);
  });

  it('refuses pull_request_target from a fork before asking anything: fork code never gets the secrets', async () => {
    const gh = api();
    for (const name of ['pull_request_target', 'pull_request']) {
      const event = await eventFile(name, pullRequestPayload('mallory/widgets', 'mallory'));
      expect(await gateTrigger(event, forgeFor(gh), { allowBots: false })).toEqual({
        allowed: false,
        reason: `${name} of a pull request from a fork`,
      });
    }
    expect(gh.requests).toHaveLength(0);
  });

  it('gates pull request events on the permission of who caused them', async () => {
    const gh = api();
    hasPermission(gh, 'triage', 'trent');
    const byTriager = await eventFile(
      'pull_request_target',
      pullRequestPayload('acme/widgets', 'trent', 'labeled'),
    );
    expect(await gateTrigger(byTriager, forgeFor(gh), { allowBots: false })).toEqual({
      allowed: false,
      reason: 'trent, who caused pull_request_target, has triage permission',
    });
    hasPermission(gh, 'write');
    const byWriter = await eventFile('pull_request', pullRequestPayload('acme/widgets', 'alice'));
    expect(await gateTrigger(byWriter, forgeFor(gh), { allowBots: false })).toMatchObject({
      allowed: true,
    });
  });

  it('gates other events that people without write access cause (workflow_run of a fork PR)', async () => {
    const gh = api();
    hasPermission(gh, 'read', 'mallory');
    const payload = retarget(webhookExample('workflow_run.completed'), {
      owner: 'acme',
      repo: 'widgets',
    });
    payload.sender.login = 'mallory';
    const event = await eventFile('workflow_run', payload);
    expect(await gateTrigger(event, forgeFor(gh), { allowBots: false })).toEqual({
      allowed: false,
      reason: 'mallory, who caused workflow_run, has read permission',
    });
    // Without a token to ask with, it does not guess.
    await expect(gateTrigger(event, null, { allowBots: false })).rejects.toThrow(
      /needs the github-token input/,
    );
  });
});
