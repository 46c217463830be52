/**
 * `npm start` as a real process: Probot's server running the app, configured by environment
 * variables only, with GHE_HOST / GHE_PROTOCOL pointing the whole app at a local API server (as a
 * GitHub Enterprise Server would be). The local server checks every request against GitHub's
 * OpenAPI description.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/github-openapi.js';
import { commentPayload } from './support/app-harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'process-test-secret';

interface Seen {
  method: string;
  path: string;
  problems: string[];
  body: unknown;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** A GitHub Enterprise-shaped API on loopback: `/api/v3/...`, every request checked. */
async function localApi(seen: Seen[]): Promise<{ server: Server; host: string }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const body = await readBody(req);
    const path = url.pathname.replace(/^\/api\/v3/, '');
    const check = checkRequest({
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      body,
      contentType: req.headers['content-type'] ?? null,
    });
    seen.push({ method: req.method ?? 'GET', path: url.pathname, problems: check.problems, body });
    const answer = (status: number, json: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    const route = `${req.method} ${check.operation?.template ?? path}`;
    switch (route) {
      case 'GET /app':
        return answer(200, { id: 1, slug: 'parallel-executor' });
      case 'POST /app/installations/{installation_id}/access_tokens':
        return answer(201, {
          token: 'ghs_local',
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        });
      case 'GET /repos/{owner}/{repo}/collaborators/{username}/permission':
        return answer(200, { permission: 'write', role_name: 'write', user: { login: 'alice' } });
      case 'POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions':
        return answer(201, { id: 1, content: 'eyes' });
      case 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments':
        return answer(201, {
          id: 2,
          html_url: 'http://local/pr/7#c2',
          body: (body as { body: string }).body,
        });
      default:
        return answer(501, { message: `not served: ${route}` });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function waitForServer(url: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`app exited early (${child.exitCode}):\n${log()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`app did not start listening:\n${log()}`);
}

describe('npm start (the app as a process)', () => {
  let child: ChildProcess | null = null;
  let api: Server | null = null;
  let channel: Server | null = null;
  afterEach(async () => {
    channel?.closeAllConnections();
    await new Promise((resolve) => (channel ? channel.close(resolve) : resolve(undefined)));
    channel = null;
    child?.kill('SIGTERM');
    child = null;
    await new Promise((resolve) => (api ? api.close(resolve) : resolve(undefined)));
    api = null;
  });

  it('verifies signatures and talks only to the GHE_HOST API, over GHE_PROTOCOL', async () => {
    const seen: Seen[] = [];
    const local = await localApi(seen);
    api = local.server;
    const port = await freePort();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        APP_ID: '12345',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: SECRET,
        PORT: String(port),
        HOST: '127.0.0.1',
        GHE_HOST: local.host,
        GHE_PROTOCOL: 'http',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(base, child, () => output);

    const body = JSON.stringify(commentPayload('/parallel-run help'));
    const post = (signature: string) =>
      fetch(`${base}/api/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issue_comment',
          'x-github-delivery': `p-${signature.length}`,
          'x-hub-signature-256': signature,
        },
        body,
      });
    const bad = await post(`sha256=${'0'.repeat(64)}`);
    expect(bad.status).toBe(400);
    expect(seen).toHaveLength(0);

    const good = await post(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    expect(good.status, output).toBe(200);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /api/v3/app',
      'POST /api/v3/app/installations/42/access_tokens',
      'GET /api/v3/repos/acme/widgets/collaborators/alice/permission',
      'POST /api/v3/repos/acme/widgets/issues/comments/' +
        String(commentPayload('x').comment.id) +
        '/reactions',
      'POST /api/v3/repos/acme/widgets/issues/7/comments',
    ]);
    expect(seen.flatMap((s) => s.problems)).toEqual([]);
    expect((seen.at(-1)?.body as { body: string }).body).toContain('/parallel-run status');
  });
  it('receives deliveries through WEBHOOK_PROXY_URL, as docs/app.md says for local development', async () => {
    const seen: Seen[] = [];
    const local = await localApi(seen);
    api = local.server;
    // A smee.io channel on loopback: an event stream that sends each delivery as one message.
    const body = commentPayload('/parallel-run help');
    const delivery = {
      'x-github-event': 'issue_comment',
      'x-github-delivery': 'smee-1',
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(JSON.stringify(body)).digest('hex')}`,
      body,
    };
    channel = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(`event: ready\ndata: {}\n\n`);
      res.write(`data: ${JSON.stringify(delivery)}\n\n`);
    });
    await new Promise<void>((resolve) => channel!.listen(0, '127.0.0.1', resolve));
    const proxy = `http://127.0.0.1:${(channel.address() as AddressInfo).port}/channel`;
    const port = await freePort();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let output = '';
    child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        APP_ID: '12345',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_PROXY_URL: proxy,
        PORT: String(port),
        HOST: '127.0.0.1',
        GHE_HOST: local.host,
        GHE_PROTOCOL: 'http',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    for (let i = 0; i < 200 && !seen.some((s) => s.path.endsWith('/issues/7/comments')); i++) {
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).not.toContain('npm install --save-dev smee-client');
    expect(
      seen.map((s) => `${s.method} ${s.path}`),
      output,
    ).toContain('POST /api/v3/repos/acme/widgets/issues/7/comments');
  }, 30_000);
});
