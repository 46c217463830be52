/**
 * GitHub API requests per execution, for N = 1, 4, 16 tasks, counted by the API mock (every
 * request also checked against the OpenAPI description).
 *
 * Measured: plan mode as the action runs it (comment gate, one queued check run per task).
 * Projected until agent/integrate modes land: the integrate job's forge calls (complete each check
 * run, open the integration PR, upsert the report comment), made through the real GitHub forge.
 *
 *     npx tsx bench/github-requests.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/action/main.js';
import { createGitHubForge } from '../src/forge/github.js';
import { createOctokit } from '../src/forge/octokit.js';
import { aPlan, aTask } from '../test/action/plans.js';
import { recordingRuntime } from '../test/action/recording-runtime.js';
import { fakeTime } from '../test/support/fake-time.js';
import { githubApi, type GitHubApiMock } from '../test/support/github-api.js';
import {
  asPullRequestComment,
  retarget,
  webhookExample,
} from '../test/support/webhook-payloads.js';

const SHA = 'a'.repeat(40);

function mockApi(gh: GitHubApiMock): void {
  let id = 0;
  const opt = { persist: true, optional: true } as const;
  gh.on(
    'GET',
    '/repos/acme/widgets/collaborators/{username}/permission',
    200,
    { permission: 'write', role_name: 'write', user: null },
    opt,
  );
  gh.on(
    'GET',
    '/repos/acme/widgets/pulls/7',
    200,
    {
      number: 7,
      html_url: 'u',
      state: 'open',
      title: 't',
      body: '',
      head: { ref: 'feature', sha: SHA, repo: { full_name: 'acme/widgets' } },
      base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
    },
    opt,
  );
  gh.on('POST', '/repos/acme/widgets/issues/comments/{comment_id}/reactions', 201, { id: 1 }, opt);
  gh.on('POST', '/repos/acme/widgets/check-runs', 201, () => ({ id: ++id }), opt);
  gh.on('PATCH', '/repos/acme/widgets/check-runs/{check_run_id}', 200, { id: 1 }, opt);
  gh.on('GET', '/repos/acme/widgets/pulls', 200, [], opt);
  gh.on('POST', '/repos/acme/widgets/pulls', 201, { number: 8, html_url: 'u' }, opt);
  gh.on('GET', '/repos/acme/widgets/issues/7/comments', 200, [], opt);
  gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 99, html_url: 'u' }, opt);
}

async function measure(n: number) {
  const workspace = await mkdtemp(join(tmpdir(), 'pe-bench-'));
  const gh = githubApi();
  try {
    mockApi(gh);
    await writeFile(join(workspace, 'MULTI_AGENT_PLAN.md'), '# plan\n');
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      {
        number: 7,
        body: '/parallel-run',
        user: 'alice',
      },
    );
    await writeFile(join(workspace, 'event.json'), JSON.stringify(payload));
    const plan = aPlan(Array.from({ length: n }, (_, i) => aTask(`1.${i + 1}`, { group: '1' })));
    const time = fakeTime();
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({
      runtime,
      env: {
        GITHUB_REPOSITORY: 'acme/widgets',
        GITHUB_WORKSPACE: workspace,
        GITHUB_EVENT_NAME: 'issue_comment',
        GITHUB_EVENT_PATH: join(workspace, 'event.json'),
        GITHUB_RUN_ID: '1',
      },
      readPlan: async () => () => ({ plan, diagnostics: [] }),
      sleep: time.sleep,
    });
    if (runtime.failed) throw new Error(runtime.failed);
    const planRequests = gh.requests.length;
    // Projection of the integrate job's GitHub calls through the real forge.
    const forge = createGitHubForge({
      octokit: createOctokit({ token: 't', baseUrl: gh.baseUrl }),
      owner: 'acme',
      repo: 'widgets',
      sleep: time.sleep,
      clock: time.clock,
    });
    for (let i = 1; i <= n; i++) {
      await forge.updateCheckRun(i, {
        status: 'completed',
        conclusion: 'success',
        output: { title: 'done', summary: 's' },
      });
    }
    await forge.upsertPullRequest({
      head: 'integration/pe-1-1',
      base: 'feature',
      title: 'Integration',
      body: 'report',
    });
    await forge.upsertComment(7, 'report', 'report');
    const writes = gh.requests.filter((r) => r.method !== 'GET');
    if (gh.problems.length > 0) throw new Error(gh.problems.join('\n'));
    return {
      n,
      planRequests,
      total: gh.requests.length,
      writes: writes.length,
    };
  } finally {
    gh.close();
    await rm(workspace, { recursive: true, force: true });
  }
}

const rows = [];
for (const n of [1, 4, 16]) rows.push(await measure(n));
const base = rows[0]!;
console.log(
  'GitHub API requests per execution (plan measured; integrate projected through the forge)',
);
console.log('tasks  plan-job  total  writes  per-task  vs N=1');
for (const r of rows) {
  console.log(
    `${String(r.n).padStart(5)}  ${String(r.planRequests).padStart(8)}  ${String(r.total).padStart(5)}  ${String(r.writes).padStart(6)}  ${(r.total / r.n).toFixed(2).padStart(8)}  ${(r.total / base.total).toFixed(2).padStart(5)}×`,
  );
}
