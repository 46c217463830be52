/**
 * Integrate mode on its own runner, with bundles from real agent legs: under the GitHub App it
 * publishes nothing itself (no request at all) but still pushes and leaves the state; and it
 * treats bundles as untrusted — a task.json aiming its push at `main`, a bundle in the wrong
 * folder, a missing artifact — without letting any of them through.
 */
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useGitHubApi } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { planText, repositoryFiles, writeAgent } from './e2e-fixture.js';
import { createRemote, passArtifact, runStep, type Remote } from './runner.js';

const API = 'https://api.github.com';

describe('integrate mode', () => {
  const api = useGitHubApi({ baseUrl: API });
  let dir: string;
  let home: string;
  let remote: Remote;
  const saved = { ...process.env };

  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-integrate-mode-')));
    home = join(dir, 'home');
    await mkdir(home);
    Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
    remote = await createRemote(
      dir,
      await repositoryFiles(planText('Add feature A', ['1.2', '1.3'])),
    );
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      { number: 7, body: '/parallel-run', user: 'alice' },
    );
    await writeFile(join(dir, 'event.json'), JSON.stringify(payload));
    // Legs for 1.1 and 1.2; 1.3's leg never uploads anything.
    const agent = await writeAgent(dir, {
      '1.1': { files: { 'a.txt': 'A\n' } },
      '1.2': { files: { 'b.txt': 'B\n' } },
    });
    for (const id of ['1.1', '1.2']) {
      const leg = await runStep({
        dir,
        home,
        remote,
        name: `agent-${id}`,
        ref: remote.sha,
        inputs: {
          mode: 'agent',
          task: id,
          'execution-id': 'pe-5-1',
          agent: 'command',
          'agent-command': agent.command,
          'bundle-dir': join(dir, `bundle-${id}`),
        },
        env: agent.env,
      });
      expect(leg.outputs.status).toBe('completed');
      await passArtifact(join(dir, `bundle-${id}`), join(dir, 'artifacts'), id);
    }
  });
  afterEach(async () => {
    process.env = { ...saved };
    await rm(dir, { recursive: true, force: true });
  });

  const integrate = (inputs: Record<string, string>) =>
    runStep({
      dir,
      home,
      remote,
      name: 'integrate',
      ref: remote.sha,
      inputs: {
        mode: 'integrate',
        'execution-id': 'pe-5-1',
        'bundle-dir': join(dir, 'artifacts'),
        'state-dir': join(dir, 'state'),
        'github-token': 'ghs_token',
        ...inputs,
      },
      env: {
        GITHUB_API_URL: API,
        GITHUB_EVENT_NAME: 'issue_comment',
        GITHUB_EVENT_PATH: join(dir, 'event.json'),
      },
    });

  it('under the GitHub App, pushes and leaves the state but sends GitHub nothing', async () => {
    const gh = api();
    const result = await integrate({ 'app-managed': 'true', 'pr-number': '7' });
    expect(gh.requests).toEqual([]);
    expect(result.outputs).toMatchObject({
      'integration-branch': 'integration/pe-5-1',
      'pull-request': '',
      merged: '["1.1","1.2"]',
    });
    // 1.3 never sent a bundle: reported, annotated, but its failure belongs to its own leg.
    expect(result.runtime.failed).toBeNull();
    expect(result.runtime.annotations.map((a) => a.message)).toContain(
      'task 1.3: no bundle (artifact agent-1.3 is missing)',
    );
    const state = JSON.parse(
      await readFile(join(dir, 'state', 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
    ) as {
      execution_id: string;
      tasks: Record<string, { status: string; reason: string | null }>;
      integration: { branch: string; merged: string[] };
    };
    expect(state.execution_id).toBe('pe-5-1');
    expect(state.integration).toMatchObject({
      branch: 'integration/pe-5-1',
      merged: ['1.1', '1.2'],
    });
    expect(state.tasks['1.3']).toMatchObject({ status: 'failed' });
    expect(state.tasks['1.3']!.reason).toMatch(/no bundle/);
    expect(await remote.git(['show', 'integration/pe-5-1:MULTI_AGENT_PLAN.md'])).toMatch(
      /- \[x\] 1\.1: Add feature A \(Builder-1, 1h\) ✅/,
    );
  });

  it('lands a task whose agent changed nothing, as a no-op merge', async () => {
    api();
    const agent = await writeAgent(dir, { '1.3': {} });
    const leg = await runStep({
      dir,
      home,
      remote,
      name: 'agent-1.3',
      ref: remote.sha,
      inputs: {
        mode: 'agent',
        task: '1.3',
        'execution-id': 'pe-5-1',
        agent: 'command',
        'agent-command': agent.command,
        'bundle-dir': join(dir, 'bundle-1.3'),
      },
      env: agent.env,
    });
    expect(leg.outputs.status).toBe('completed');
    expect(JSON.parse(await readFile(join(dir, 'bundle-1.3', 'task.json'), 'utf8'))).toMatchObject({
      bundle: null,
      head_sha: remote.sha,
    });
    await passArtifact(join(dir, 'bundle-1.3'), join(dir, 'artifacts'), '1.3');
    const result = await integrate({ 'app-managed': 'true' });
    expect(result.runtime.failed).toBeNull();
    expect(result.outputs.merged).toBe('["1.1","1.2","1.3"]');
  });

  it('refuses a task.json that aims at main and a bundle in the wrong folder, and lands the rest', async () => {
    const gh = api();
    const file = join(dir, 'artifacts', 'agent-1.1', 'task.json');
    const forged = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...forged, branch: 'main' }));
    await cp(join(dir, 'artifacts', 'agent-1.2'), join(dir, 'artifacts', 'agent-extra'), {
      recursive: true,
    });
    gh.on('GET', '/repos/acme/widgets/commits/{ref}/check-runs', 200, {
      total_count: 0,
      check_runs: [],
    });
    gh.on('GET', '/repos/acme/widgets/pulls', 200, []);
    gh.on('POST', '/repos/acme/widgets/pulls', 201, {
      number: 3,
      html_url: 'https://github.com/acme/widgets/pull/3',
    });
    gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, []);
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, {
      id: 1,
      html_url: 'https://github.com/c/1',
    });
    const before = await remote.git(['rev-parse', 'main']);
    const result = await integrate({ 'base-branch': 'main' });
    expect(result.outputs.merged).toBe('["1.2"]');
    expect(await remote.git(['rev-parse', 'main'])).toBe(before);
    const warnings = result.runtime.annotations.map((a) => a.message);
    expect(warnings).toContain('bundle agent-extra ignored: holds task 1.2, expected in agent-1.2');
    expect(warnings).toContain(
      'task 1.1: bundle refused: branch main is protected from task pushes',
    );
    expect(result.runtime.failed).toMatch(/did not land every completed task/);
    const [comment] = gh.requestsTo('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments');
    expect((comment!.body as { body: string }).body).toMatch(/bundle was refused/);
  });
});
