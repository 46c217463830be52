/**
 * Deliveries over HTTP, as GitHub sends them: signed with the webhook secret, to the app's node
 * middleware on 127.0.0.1. A bad signature is refused (400) and nothing reaches GitHub; a good one
 * is handled. The serverless entry is driven the same way, configured only by environment
 * variables, including GHE_HOST: every API call then goes to that host's `/api/v3`.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Probot } from 'probot';
import { createNodeMiddleware } from 'probot';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/app.js';
import { createServerlessHandler } from '../../src/app/serverless.js';
import { githubApi, type GitHubApiMock } from '../support/github-api.js';
import {
  commentPayload,
  HEAD_SHA,
  PLAN_PATH,
  PR,
  testOctokit,
  WORKFLOW_PATH,
  WORKFLOW_TEXT,
} from './support/app-harness.js';
import { BOT, fakeGitHub, OWNER, REPO, type FakeGitHub } from './support/fake-github.js';
import { VALID_PLAN } from './support/plans.js';

const SECRET = 'webhook-secret-for-tests';

function sign(body: string, secret = SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function deliver(url: string, body: string, signature: string, id: string) {
  return fetch(`${url}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': id,
      'x-hub-signature-256': signature,
    },
    body,
  });
}

function seed(github: FakeGitHub): void {
  github.permissions.set('alice', 'write');
  github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN);
  github.pulls.set(PR, {
    number: PR,
    state: 'open',
    title: 'Add the plan',
    headRef: 'feature/plan',
    headSha: HEAD_SHA,
    headRepo: `${OWNER}/${REPO}`,
    baseRef: 'main',
  });
}

describe('signed HTTP deliveries', () => {
  let gh: GitHubApiMock | null = null;
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = null;
    gh?.assertDone();
    gh = null;
  });

  it('handles a correctly signed delivery and refuses a badly signed one with 400, doing nothing', async () => {
    gh = githubApi();
    const github = fakeGitHub(gh);
    seed(github);
    const probot = new Probot({
      githubToken: 'test',
      baseUrl: gh.baseUrl,
      secret: SECRET,
      logLevel: 'fatal',
      Octokit: testOctokit(),
    });
    const app = createApp({
      botLogin: BOT,
      writeSpacingMs: 0,
      dashboardDelayMs: 0,
      dashboardMinIntervalMs: 0,
    });
    const middleware = await createNodeMiddleware(app.appFn, { probot });
    const listening = await listen(
      (req, res) => void middleware(req, res, () => res.writeHead(404).end()),
    );
    server = listening.server;

    const body = JSON.stringify(commentPayload('/parallel-run help'));
    const forged = await deliver(listening.url, body, sign(body, 'not-the-secret'), 'd-bad');
    expect(forged.status).toBe(400);
    const tampered = await deliver(
      listening.url,
      body.replace('help', 'all'),
      sign(body),
      'd-tampered',
    );
    expect(tampered.status).toBe(400);
    expect(gh.requests).toHaveLength(0);

    const good = await deliver(listening.url, body, sign(body), 'd-good');
    expect(good.status).toBe(200);
    await app.idle();
    expect(github.reactions).toEqual([expect.objectContaining({ content: 'eyes' })]);
    expect(github.comments.at(-1)?.body).toContain('/parallel-run retry <task-id>');
  });
});

describe('serverless entry, configured by the environment', () => {
  let gh: GitHubApiMock | null = null;
  let server: Server | null = null;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = null;
    gh?.assertDone();
    gh = null;
  });

  it('verifies signatures and sends every API call to GHE_HOST (app auth, its own login, an installation token)', async () => {
    gh = githubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
    const github = fakeGitHub(gh);
    seed(github);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const handler = await createServerlessHandler({
      env: {
        APP_ID: '12345',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: SECRET,
        GHE_HOST: 'ghe.example.com',
        LOG_LEVEL: 'fatal',
      },
      app: { writeSpacingMs: 0, dashboardDelayMs: 0, dashboardMinIntervalMs: 0 },
    });
    const listening = await listen((req, res) => void handler(req, res));
    server = listening.server;

    const body = JSON.stringify(commentPayload('/parallel-run status'));
    expect((await deliver(listening.url, body, sign(body, 'wrong'), 's-bad')).status).toBe(400);
    expect(gh.requests).toHaveLength(0);

    expect((await deliver(listening.url, body, sign(body), 's-good')).status).toBe(200);
    const templates = gh.requests.map((r) => `${r.method} ${r.template}`);
    // The app's own login first (JWT), then the installation token for the repository calls.
    expect(templates.slice(0, 2)).toEqual([
      'GET /app',
      'POST /app/installations/{installation_id}/access_tokens',
    ]);
    expect(gh.requests.every((r) => r.url.startsWith('https://ghe.example.com/api/v3/'))).toBe(
      true,
    );
    // Authorisation first; the reaction goes beside the rest of the work.
    expect(templates[2]).toBe('GET /repos/{owner}/{repo}/collaborators/{username}/permission');
    expect(templates.slice(3).sort()).toEqual(
      [
        'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
        'GET /repos/{owner}/{repo}/pulls/{pull_number}',
        // Where the config would be (.github listed once: neither spelling there).
        'GET /repos/{owner}/{repo}/contents/{path}',
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      ].sort(),
    );
    expect(github.comments.at(-1)?.body).toContain('No execution is running');

    expect((await fetch(`${listening.url}/elsewhere`)).status).toBe(404);
  });

  it("does not trust anyone's comments as its own when it could not learn its login: the delivery fails, and its redelivery is answered", async () => {
    gh = githubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
    // The app's JWT refused once (a clock ahead of GitHub's): its login is not known then.
    gh.reply('GET', '/app', () => ({
      status: 401,
      body: {
        message:
          "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      },
    }));
    const github = fakeGitHub(gh);
    seed(github);
    github.setFile('main', WORKFLOW_PATH, WORKFLOW_TEXT);
    // Anyone may comment: a dashboard with a running lock that never ends.
    const lock = Buffer.from(
      JSON.stringify({ execution: 'x', status: 'running', sha: 'x', run: null, startedAt: '9999' }),
    ).toString('base64url');
    github.addComment(
      PR,
      `<!-- parallel-executor:dashboard -->\n<!-- parallel-executor:lock ${lock} -->`,
      'mallory',
    );
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const handler = await createServerlessHandler({
      env: {
        APP_ID: '12345',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: SECRET,
        GHE_HOST: 'ghe.example.com',
        LOG_LEVEL: 'fatal',
      },
      app: { writeSpacingMs: 0, dashboardDelayMs: 0, dashboardMinIntervalMs: 0 },
    });
    const listening = await listen((req, res) => void handler(req, res));
    server = listening.server;
    const body = JSON.stringify(commentPayload('/parallel-run'));
    const first = await deliver(listening.url, body, sign(body), 'l-1');
    // Any answer but 2xx is a failed delivery GitHub lists for sending again.
    expect(first.status).toBeGreaterThanOrEqual(400);
    expect(github.comments.filter((c) => c.user !== 'mallory')).toEqual([]);
    // GitHub's redelivery keeps the id: it is handled, with only the app's own comments trusted.
    expect((await deliver(listening.url, body, sign(body), 'l-1')).status).toBe(200);
    expect(github.dispatches).toHaveLength(1);
    expect(github.comments.map((c) => c.body).join('\n')).not.toContain('already running');
  });
});
