/**
 * GitHub API requests per execution, for N = 1, 4, 16 tasks, all measured: the action's four
 * modes run as a runner runs them (fresh checkouts of a bare remote, real git, real agent
 * processes through the command adapter), the API mocked and every request checked against the
 * OpenAPI description and counted.
 *
 * - plan job: the comment gate (permission, PR, reaction), the look for another execution on the
 *   PR (this workflow's runs in progress and queued), and one queued check run per task;
 * - agent legs: none (they get no token);
 * - integrate job: none (it gets no token);
 * - publish job: list the check runs, complete each, find-or-open the integration PR, find-or-
 *   create the report comment, and dispatch the next wave (here a follow-up task waits on the group).
 *
 *     npx tsx bench/github-requests.ts
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryFiles, writeAgent } from '../test/action/e2e-fixture.js';
import {
  createRemote,
  passArtifact,
  passResult,
  runStep,
  type Remote,
} from '../test/action/runner.js';
import { githubApi, type GitHubApiMock } from '../test/support/github-api.js';
import {
  asPullRequestComment,
  retarget,
  webhookExample,
} from '../test/support/webhook-payloads.js';

const API = 'https://api.github.com';
const REPO = '/repos/acme/widgets';

function planOf(n: number): string {
  const tasks = Array.from(
    { length: n },
    (_, i) => `- [ ] 1.${i + 1}: Task number ${i + 1} (Builder-${i + 1}, 1h)`,
  );
  return [
    '# Bench plan',
    '',
    '### Parallel Group 1: Work',
    '**Dependencies**: None',
    '',
    ...tasks,
    '',
    '### Parallel Group 2: Follow-up',
    '**Dependencies**: Group 1 complete',
    '',
    '- [ ] 2.1: Follow up (Builder-1, 1h)',
    '',
  ].join('\n');
}

function mockApi(gh: GitHubApiMock, sha: string): void {
  const opt = { persist: true, optional: true } as const;
  const checks: Array<Record<string, unknown>> = [];
  gh.on(
    'GET',
    `${REPO}/collaborators/alice/permission`,
    200,
    { permission: 'write', role_name: 'write', user: null },
    opt,
  );
  gh.on(
    'GET',
    `${REPO}/pulls/7`,
    200,
    {
      number: 7,
      html_url: 'u',
      state: 'open',
      title: 't',
      body: '',
      head: { ref: 'feature', sha, repo: { full_name: 'acme/widgets' } },
      base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
    },
    opt,
  );
  gh.on('POST', `${REPO}/issues/comments/{comment_id}/reactions`, 201, { id: 1 }, opt);
  gh.on(
    'GET',
    `${REPO}/actions/workflows/{workflow_id}/runs`,
    200,
    { total_count: 0, workflow_runs: [] },
    opt,
  );
  gh.on(
    'POST',
    `${REPO}/check-runs`,
    201,
    (req) => {
      const body = req.body as { name: string; external_id: string };
      const id = checks.length + 1;
      checks.push({
        id,
        name: body.name,
        head_sha: sha,
        status: 'queued',
        conclusion: null,
        external_id: body.external_id,
        details_url: null,
        html_url: null,
        output: { title: null, summary: null },
      });
      return { id };
    },
    opt,
  );
  gh.on(
    'GET',
    `${REPO}/commits/{ref}/check-runs`,
    200,
    () => ({ total_count: checks.length, check_runs: checks }),
    opt,
  );
  gh.on('PATCH', `${REPO}/check-runs/{check_run_id}`, 200, { id: 1 }, opt);
  gh.on('GET', `${REPO}/pulls`, 200, [], opt);
  gh.on('POST', `${REPO}/pulls`, 201, { number: 8, html_url: 'u' }, opt);
  gh.on('GET', `${REPO}/issues/7/comments`, 200, [], opt);
  gh.on('POST', `${REPO}/issues/7/comments`, 201, { id: 99, html_url: 'u' }, opt);
  gh.on('POST', `${REPO}/actions/workflows/{workflow_id}/dispatches`, 204, undefined, opt);
}

async function measure(n: number) {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-bench-requests-')));
  const home = join(dir, 'home');
  await mkdir(home);
  const gh = githubApi({ baseUrl: API });
  try {
    const remote: Remote = await createRemote(dir, await repositoryFiles(planOf(n)), ['feature']);
    mockApi(gh, remote.sha);
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      { number: 7, body: '/parallel-run 1', user: 'alice' },
    );
    await writeFile(join(dir, 'event.json'), JSON.stringify(payload));
    const env = {
      GITHUB_API_URL: API,
      GITHUB_EVENT_NAME: 'issue_comment',
      GITHUB_EVENT_PATH: join(dir, 'event.json'),
    };
    const step = (
      name: string,
      inputs: Record<string, string>,
      extra: Record<string, string> = {},
    ) => runStep({ dir, home, remote, name, ref: remote.sha, inputs, env: { ...env, ...extra } });

    const plan = await step('plan', { mode: 'plan', 'github-token': 't' });
    if (plan.runtime.failed) throw new Error(plan.runtime.failed);
    const planRequests = gh.requests.length;

    const ids = Array.from({ length: n }, (_, i) => `1.${i + 1}`);
    const agent = await writeAgent(
      dir,
      Object.fromEntries(ids.map((id) => [id, { files: { [`out-${id}.txt`]: `${id}\n` } }])),
    );
    // Two legs at a time: the machine has two cores, GitHub would run them all at once.
    for (let i = 0; i < ids.length; i += 2) {
      await Promise.all(
        ids.slice(i, i + 2).map(async (id) => {
          const bundle = join(dir, `bundle-${id}`);
          const leg = await step(
            `agent-${id}`,
            {
              mode: 'agent',
              task: id,
              'execution-id': plan.outputs['execution-id']!,
              agent: 'command',
              'agent-command': agent.command,
              'bundle-dir': bundle,
            },
            agent.env,
          );
          if (leg.outputs.status !== 'completed')
            throw new Error(`leg ${id}: ${leg.runtime.failed}`);
          await passArtifact(bundle, join(dir, 'artifacts'), id);
        }),
      );
    }
    const agentRequests = gh.requests.length - planRequests;

    const integrate = await step('integrate', {
      mode: 'integrate',
      'execution-id': plan.outputs['execution-id']!,
      'bundle-dir': join(dir, 'artifacts'),
      'result-dir': join(dir, 'result'),
      'base-branch': plan.outputs['base-branch']!,
      'github-token': '',
    });
    if (integrate.runtime.failed) throw new Error(integrate.runtime.failed);
    await passResult(join(dir, 'result'), join(dir, 'downloaded'));
    const publish = await step('publish', {
      mode: 'publish',
      'execution-id': plan.outputs['execution-id']!,
      'result-dir': join(dir, 'downloaded'),
      'base-branch': plan.outputs['base-branch']!,
      'github-token': 't',
    });
    if (publish.runtime.failed) throw new Error(publish.runtime.failed);
    if (publish.outputs.merged !== JSON.stringify(ids))
      throw new Error(`merged ${publish.outputs.merged}`);
    if (gh.problems.length > 0) throw new Error(gh.problems.join('\n'));
    const publishRequests = gh.requests.length - planRequests - agentRequests;
    return {
      n,
      planRequests,
      agentRequests,
      publishRequests,
      total: gh.requests.length,
      writes: gh.requests.filter((r) => r.method !== 'GET').length,
    };
  } finally {
    gh.close();
    await rm(dir, { recursive: true, force: true });
  }
}

Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
const rows = [];
for (const n of [1, 4, 16]) rows.push(await measure(n));
const base = rows[0]!;
console.log('GitHub API requests per execution (one wave + next-wave dispatch), all measured');
console.log('tasks  plan-job  agent-legs  publish-job  total  writes  per-task  vs N=1');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(5)}  ${String(r.planRequests).padStart(8)}  ${String(r.agentRequests).padStart(10)}  ${String(r.publishRequests).padStart(11)}  ${String(r.total).padStart(5)}  ${String(r.writes).padStart(6)}  ${(r.total / r.n).toFixed(2).padStart(8)}  ${(r.total / base.total).toFixed(2).padStart(5)}×`,
  );
}
