/**
 * How integrate mode hands its token to `git push`: one AUTHORIZATION header (replacing one the
 * checkout may have persisted), only to the GitHub server, never in an error. A local HTTP server
 * stands in for GitHub's git endpoint and records what git sends.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pushBranches } from '../../src/action/integrate/push.js';
import { createTempRepo, gitTestEnv, type TempRepo } from '../support/git-repo.js';

describe('pushBranches', () => {
  let repo: TempRepo;
  let server: Server;
  let base: string;
  const seen: IncomingMessage[] = [];

  beforeEach(async () => {
    repo = await createTempRepo();
    seen.length = 0;
    server = createServer((req, res) => {
      seen.push(req);
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('denied by the test server\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await repo.git(['remote', 'add', 'origin', `${base}/acme/widgets.git`]);
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await repo.cleanup();
  });

  const authorizations = () =>
    seen.flatMap((req) =>
      req.rawHeaders.filter(
        (_, i) => i % 2 === 1 && req.rawHeaders[i - 1]!.toLowerCase() === 'authorization',
      ),
    );

  it('sends the token once, as a basic header, instead of the one the checkout persisted', async () => {
    // What actions/checkout leaves with persist-credentials: true.
    await repo.git(['config', `http.${base}/.extraheader`, 'AUTHORIZATION: basic b2xkOm9sZA==']);
    const [outcome] = await pushBranches(repo.dir, [{ source: 'HEAD', branch: 'topic' }], {
      serverUrl: base,
      token: 'ghs_secret_token',
      env: gitTestEnv(),
    });
    expect(authorizations()).toEqual([
      `basic ${Buffer.from('x-access-token:ghs_secret_token').toString('base64')}`,
    ]);
    expect(outcome).toMatchObject({ branch: 'topic', ok: false });
    expect(outcome!.summary).not.toContain('ghs_secret_token');
    expect(outcome!.summary).not.toContain(
      Buffer.from('x-access-token:ghs_secret_token').toString('base64'),
    );
  });

  it('sends no token to a remote that is not the GitHub server', async () => {
    const [outcome] = await pushBranches(repo.dir, [{ source: 'HEAD', branch: 'topic' }], {
      serverUrl: 'https://github.com',
      token: 'ghs_secret_token',
      env: gitTestEnv(),
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(authorizations()).toEqual([]);
    expect(outcome!.ok).toBe(false);
  });
});
