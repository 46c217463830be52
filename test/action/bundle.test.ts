/**
 * The file action.yml names is what runners execute: it must match a fresh build of the sources,
 * and it must work as a separate process with only what a runner provides (env, files, network).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { githubApiServer, type GitHubApiMock } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

async function readOutputs(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const outputs: Record<string, string> = {};
  // @actions/core writes `name<<DELIMITER\nvalue\nDELIMITER`.
  for (const match of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[match[1]!] = match[3]!;
  }
  return outputs;
}

describe('the bundled action', () => {
  let dir: string;
  let server: GitHubApiMock | null = null;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pe-bundle-'));
    // The runner creates these files before each step.
    await writeFile(join(dir, 'output.txt'), '');
    await writeFile(join(dir, 'summary.md'), '');
  });
  afterEach(async () => {
    server?.close();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  it('is the file action.yml runs, on node24', async () => {
    const action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
    };
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/action/index.js' });
  });

  it('matches a fresh build of the sources, file for file (run `npm run build:action` and commit dist/ if not)', async () => {
    // @ts-expect-error -- a plain .mjs build script without types
    const { buildAction } = (await import('../../scripts/build-action.mjs')) as {
      buildAction: (outdir: string) => Promise<void>;
    };
    await buildAction(join(dir, 'action'));
    const committedDir = join(ROOT, 'dist', 'action');
    const names = (await readdir(join(dir, 'action'))).sort();
    expect(
      (await readdir(committedDir)).sort(),
      'dist/action holds other files than a build',
    ).toEqual(names);
    for (const name of names) {
      const fresh = await readFile(join(dir, 'action', name));
      const committed = await readFile(join(committedDir, name));
      expect(
        fresh.equals(committed),
        `dist/action/${name} is stale: run \`npm run build:action\` and commit it`,
      ).toBe(true);
    }
  });

  /** The environment a runner gives a step, and nothing else from ours. */
  function runnerEnv(extra: Record<string, string>): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_WORKSPACE: dir,
      GITHUB_OUTPUT: join(dir, 'output.txt'),
      GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
      GITHUB_RUN_ID: '555',
      GITHUB_RUN_ATTEMPT: '1',
      ...extra,
    };
  }

  async function runAction(env: Record<string, string>) {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(ROOT, 'dist', 'action', 'index.js')],
        {
          env,
          cwd: dir,
          timeout: 30_000,
        },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('fails an invalid input with a clear message and exit code 1', async () => {
    const result = await runAction(runnerEnv({ INPUT_MODE: 'deploy' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '::error::input "mode" must be one of plan, agent, integrate, publish, repair, integrate-repairs, got "deploy"',
    );
    expect(result.stdout).toContain('hint: See action.yml');
  });

  it('answers a /parallel-run comment from a reader over HTTP, every request checked against the OpenAPI description', async () => {
    server = await githubApiServer({ prefix: '/api/v3' });
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      {
        number: 7,
        body: '/parallel-run all',
        user: 'mallory',
      },
    );
    const eventPath = join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify(payload));
    server.on('GET', '/repos/acme/widgets/collaborators/mallory/permission', 200, {
      permission: 'read',
      role_name: 'read',
      user: null,
    });
    server.on('POST', '/repos/acme/widgets/issues/7/comments', 201, {
      id: 1,
      html_url: 'https://x/1',
    });
    const result = await runAction(
      runnerEnv({
        INPUT_MODE: 'plan',
        'INPUT_GITHUB-TOKEN': 'ghs_fake_token',
        INPUT_PLAN: 'MULTI_AGENT_PLAN.md',
        GITHUB_EVENT_NAME: 'issue_comment',
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_API_URL: server.baseUrl,
      }),
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await readOutputs(join(dir, 'output.txt'))).toMatchObject({
      matrix: '{"include":[]}',
      'task-count': '0',
    });
    expect(await readFile(join(dir, 'summary.md'), 'utf8')).toContain(
      'No run started: mallory has read permission',
    );
    expect(server.requests[0]?.headers.authorization).toBe('token ghs_fake_token');
    // The token is only ever printed in the command that tells the runner to mask it.
    const leaks = result.stdout.split('\n').filter((l) => l.includes('ghs_fake_token'));
    expect(leaks).toEqual(['::add-mask::ghs_fake_token']);
    server.assertDone();
  });
});
