/**
 * The built file action.yml names (`dist/action/index.js`), run as the runner runs it: a separate
 * Node process with only the runner's environment, against a GitHub API server on loopback that
 * checks every request against the OpenAPI description. Two agent legs, the integrate job, then
 * the publish job, which lands both tasks and so starts the next wave.
 */
import { cp, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { githubApiServer, type GitHubApiMock } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { hostileTitle, planText, repositoryFiles, writeAgent } from './e2e-fixture.js';
import { createRemote, runBuiltAgentLeg, runBuiltStep, type Remote } from './runner.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('dist/action/index.js as a runner runs it', () => {
  let dir: string;
  let server: GitHubApiMock | null = null;
  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-dist-')));
  });
  afterEach(async () => {
    server?.close();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  function runStep(
    remote: Remote,
    name: string,
    inputs: Record<string, string>,
    extra: Record<string, string>,
  ) {
    return runBuiltStep({
      script: join(ROOT, 'dist', 'action', 'index.js'),
      folder: join(dir, name),
      remote,
      home: join(dir, 'home'),
      inputs,
      env: { GITHUB_EVENT_PATH: join(dir, 'event.json'), ...extra },
    });
  }

  it('runs two agent legs, the integrate job, then the publish job, which pushes, opens the PR, comments and dispatches the next wave', async () => {
    await mkdir(join(dir, 'home'));
    const canary = join(dir, 'canary');
    const remote = await createRemote(
      dir,
      await repositoryFiles(planText(hostileTitle(canary), ['1.2'])),
    );
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      { number: 7, body: '/parallel-run', user: 'alice' },
    );
    await writeFile(join(dir, 'event.json'), JSON.stringify(payload));
    const agent = await writeAgent(dir, {
      '1.1': { files: { 'feature-a.txt': 'A\n' }, report: true },
      '1.2': { files: { 'shared.txt': 'from B\n' } },
    });

    const script = join(ROOT, 'dist', 'action', 'index.js');
    const legs = await Promise.all(
      ['1.1', '1.2'].map((id) =>
        runBuiltAgentLeg({ script, remote, home: join(dir, 'home'), dir }, id, agent),
      ),
    );
    for (const leg of legs) {
      expect(leg.code, leg.stdout).toBe(0);
      expect(leg.outputs.status).toBe('completed');
    }
    expect(legs[0]!.outputs.branch).toMatch(/^agent\/builder-1\/1-1-/);

    server = await githubApiServer();
    // No base-branch input: the PR the comment is on says where the integration PR goes.
    server.on('GET', '/repos/acme/widgets/pulls/7', 200, {
      number: 7,
      html_url: 'https://github.example/acme/widgets/pull/7',
      state: 'open',
      title: 'Plan',
      body: '',
      head: { ref: 'feature', sha: remote.sha, repo: { full_name: 'acme/widgets' } },
      base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
    });
    server.on('GET', '/repos/acme/widgets/commits/{ref}/check-runs', 200, {
      total_count: 0,
      check_runs: [],
    });
    server.on('GET', '/repos/acme/widgets/pulls', 200, []);
    server.on('POST', '/repos/acme/widgets/pulls', 201, {
      number: 9,
      html_url: 'https://github.example/acme/widgets/pull/9',
    });
    server.on('GET', '/repos/acme/widgets/issues/7/comments', 200, []);
    server.on('POST', '/repos/acme/widgets/issues/7/comments', 201, {
      id: 5,
      html_url: 'https://github.example/c/5',
    });
    server.on('POST', '/repos/acme/widgets/actions/workflows/{workflow_id}/dispatches', 200, {
      workflow_run_id: 78,
      run_url: 'https://api.github.example/runs/78',
      html_url: 'https://github.example/acme/widgets/actions/runs/78',
    });
    const integrate = await runStep(
      remote,
      'integrate',
      {
        mode: 'integrate',
        'execution-id': 'pe-77-1',
        'bundle-dir': join(dir, 'artifacts'),
        'result-dir': join(dir, 'integrate', 'result'),
        'github-token': '',
      },
      { GITHUB_API_URL: server.baseUrl, ACTIONS_RUNTIME_TOKEN: 'runtime-token-secret' },
    );
    expect(integrate.code, integrate.stdout).toBe(0);
    expect(integrate.outputs).toMatchObject({ status: 'completed', merged: '["1.1","1.2"]' });
    await cp(join(dir, 'integrate', 'result'), join(dir, 'publish-result'), { recursive: true });
    const publish = await runStep(
      remote,
      'publish',
      {
        mode: 'publish',
        'execution-id': 'pe-77-1',
        'result-dir': join(dir, 'publish-result'),
        'github-token': 'ghs_integrate_token',
      },
      { GITHUB_API_URL: server.baseUrl },
    );
    expect(publish.code, publish.stdout).toBe(0);
    server.assertDone();
    expect(publish.outputs).toMatchObject({
      'integration-branch': 'integration/pe-77-1',
      'pull-request': 'https://github.example/acme/widgets/pull/9',
      merged: '["1.1","1.2"]',
      conflicts: '[]',
    });
    const [pr] = server.requestsTo('POST', '/repos/{owner}/{repo}/pulls');
    expect(pr!.body).toMatchObject({ head: 'integration/pe-77-1', base: 'feature' });
    // The next wave: task 2.1, on the integration branch, same execution.
    const [dispatch] = server.requestsTo(
      'POST',
      '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
    );
    expect(dispatch!.params.workflow_id).toBe('parallel-run.yml');
    expect(dispatch!.body).toMatchObject({
      ref: 'integration/pe-77-1',
      inputs: {
        'execution-id': 'pe-77-1',
        ref: 'integration/pe-77-1',
        plan: 'MULTI_AGENT_PLAN.md',
        'pr-number': '7',
        'base-branch': 'feature',
      },
    });
    expect(publish.stdout).toContain('next wave dispatched');
    expect(await remote.git(['ls-tree', '-r', '--name-only', 'integration/pe-77-1'])).toContain(
      'feature-a.txt',
    );
    expect(await readFile(join(dir, 'integrate', 'result', 'report.md'), 'utf8')).toContain(
      'Parallel Execution Report',
    );
    // The token is printed only where the runner is told to mask it.
    const leaks = publish.stdout.split('\n').filter((l) => l.includes('ghs_integrate_token'));
    expect(leaks).toEqual(['::add-mask::ghs_integrate_token']);
    await expect(stat(canary)).rejects.toThrow();
  });
});
