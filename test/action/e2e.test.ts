/**
 * plan → agent × N → integrate → publish, each step run the way a runner runs it: its own fresh checkout of
 * a bare repository standing in for GitHub's, the variables and files a runner gives a step,
 * INPUT_* inputs, a real event payload, the GitHub API mocked with every request checked against
 * GitHub's OpenAPI description, bundles handed from the agent legs to the integrate job through a
 * folder per task as the artifact service lays them out, and the integrate job's result to the
 * publish job the same way. Real git, real agent processes.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLegDirs } from './leg-fixture.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { TaskFile } from '../../src/action/task-file.js';
import { useGitHubApi, type GitHubApiMock } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import {
  hostileTitle,
  planText,
  repositoryFiles,
  SCENARIO,
  writeAgent,
  type Scenario,
} from './e2e-fixture.js';
import {
  createRemote,
  passArtifact,
  passResult,
  runStep,
  type Remote,
  type StepResult,
} from './runner.js';

const API = 'https://ghe.example.com/api/v3';
const SERVER = 'https://ghe.example.com';
const REPO = '/repos/acme/widgets';

describe('the action on runners: plan → agent × N → integrate → publish', () => {
  const api = useGitHubApi({ baseUrl: API });
  const legs = useLegDirs('pe-e2e-');
  let dir: string;
  let home: string;
  let canary: string;

  beforeEach(async () => {
    ({ dir, home } = legs);
    await writeFile(join(home, 'sentinel'), 'still here\n');
    canary = join(dir, 'canary');
  });

  /** The event: `/parallel-run` commented on PR 7 by a writer. */
  async function commentEvent(): Promise<string> {
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      { number: 7, body: '/parallel-run 1', user: 'alice' },
    );
    const file = join(dir, 'event.json');
    await writeFile(file, JSON.stringify(payload));
    return file;
  }

  const EVENT = () => ({
    GITHUB_API_URL: API,
    GITHUB_SERVER_URL: SERVER,
    GITHUB_EVENT_NAME: 'issue_comment',
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
  });

  function step(
    remote: Remote,
    name: string,
    ref: string,
    inputs: Record<string, string>,
    extra: Record<string, string> = {},
  ): Promise<StepResult> {
    return runStep({ dir, home, remote, name, ref, inputs, env: { ...EVENT(), ...extra } });
  }

  function mockPlanJob(gh: GitHubApiMock, sha: string, tasks: number) {
    gh.on('GET', `${REPO}/collaborators/alice/permission`, 200, {
      permission: 'write',
      role_name: 'write',
      user: null,
    });
    gh.on('GET', `${REPO}/pulls/7`, 200, pullRequest(sha));
    gh.on('POST', `${REPO}/issues/comments/{comment_id}/reactions`, 201, {
      id: 1,
      content: 'rocket',
    });
    // No other execution on PR 7: the only run in progress is this one (GITHUB_RUN_ID 4242).
    const runs = `${REPO}/actions/workflows/parallel-run.yml/runs`;
    gh.on(
      'GET',
      runs,
      200,
      {
        total_count: 1,
        workflow_runs: [
          {
            id: 4242,
            name: 'parallel-run',
            event: 'issue_comment',
            display_title: 'parallel-run issue_comment (PR #7)',
            status: 'in_progress',
            created_at: '2026-11-05T10:00:00Z',
            html_url: 'https://github.com/acme/widgets/actions/runs/4242',
          },
        ],
      },
      { query: { status: 'in_progress' } },
    );
    gh.on('GET', runs, 200, { total_count: 0, workflow_runs: [] }, { query: { status: 'queued' } });
    let id = 100;
    const created: Array<{ id: number; name: string; external_id: string }> = [];
    gh.on(
      'POST',
      `${REPO}/check-runs`,
      201,
      (req) => {
        const body = req.body as { name: string; external_id: string };
        created.push({ id: ++id, name: body.name, external_id: body.external_id });
        return { id };
      },
      { times: tasks },
    );
    return created;
  }

  async function agentLegs(
    remote: Remote,
    ids: string[],
    executionId: string,
    sha: string,
    scenario: Scenario,
  ): Promise<Map<string, StepResult>> {
    const agent = await writeAgent(dir, scenario);
    const legs = new Map<string, StepResult>();
    // One runner per leg, side by side, as the matrix runs them.
    await Promise.all(
      ids.map(async (id) => {
        const leg = await step(
          remote,
          `agent-${id}`,
          sha,
          {
            mode: 'agent',
            task: id,
            'execution-id': executionId,
            agent: 'command',
            'agent-command': agent.command,
            'anthropic-api-key': 'sk-ant-agent-key',
            'bundle-dir': join(dir, 'runners', `agent-${id}`, 'temp', 'bundle'),
          },
          agent.env,
        );
        await passArtifact(
          join(dir, 'runners', `agent-${id}`, 'temp', 'bundle'),
          join(dir, 'artifacts'),
          id,
        );
        legs.set(id, leg);
      }),
    );
    return legs;
  }

  it('runs a wave: one task lands, one conflicts, one fails validation, one agent fails; a hostile title reaches no shell', async () => {
    const title = hostileTitle(canary);
    const remote = await createRemote(
      dir,
      await repositoryFiles(planText(title, undefined, { independent: true })),
      ['feature'],
    );
    await commentEvent();
    const gh = api();

    // Job `plan`.
    const checkRuns = mockPlanJob(gh, remote.sha, 4);
    const plan = await step(remote, 'plan', remote.sha, {
      mode: 'plan',
      'github-token': 'ghs_plan',
    });
    expect(plan.runtime.failed).toBeNull();
    expect(plan.outputs).toMatchObject({
      matrix: '{"include":[{"task":"1.1"},{"task":"1.2"},{"task":"1.3"},{"task":"1.4"}]}',
      'execution-id': 'pe-4242-1',
      'task-count': '4',
      sha: remote.sha,
      'base-branch': 'feature',
      group: '1',
    });
    expect(checkRuns.map((c) => c.external_id)).toEqual([
      'pe-4242-1:1.1',
      'pe-4242-1:1.2',
      'pe-4242-1:1.3',
      'pe-4242-1:1.4',
    ]);

    // Job `agent`: four legs, no token.
    const matrix = JSON.parse(plan.outputs.matrix!) as { include: Array<{ task: string }> };
    const legs = await agentLegs(
      remote,
      matrix.include.map((l) => l.task),
      'pe-4242-1',
      plan.outputs.sha!,
      SCENARIO,
    );
    expect(Object.fromEntries([...legs].map(([id, leg]) => [id, leg.outputs.status]))).toEqual({
      '1.1': 'completed',
      '1.2': 'completed',
      '1.3': 'failed',
      '1.4': 'failed',
    });
    expect(legs.get('1.1')!.runtime.failed).toBeNull();
    expect(legs.get('1.3')!.runtime.failed).toMatch(/task 1.3 failed: validation failed: tests/);
    expect(legs.get('1.4')!.runtime.failed).toMatch(/task 1.4 failed: agent exited with code 3/);
    const task11 = TaskFile.parse(
      JSON.parse(await readFile(join(dir, 'artifacts', 'agent-1.1', 'task.json'), 'utf8')),
    );
    expect(task11).toMatchObject({
      task_id: '1.1',
      agent: 'Builder-1',
      base_sha: remote.sha,
      bundle: 'branch.bundle',
      status: 'completed',
    });
    expect(task11.branch).toMatch(/^agent\/builder-1\/1-1-add-feature-a-touch/);
    for (const file of [
      'changes.diff',
      'files_changed.txt',
      'agent.log',
      'metrics.json',
      'validation_report.json',
      'AGENT_CONTEXT.md',
    ]) {
      await expect(stat(join(dir, 'artifacts', 'agent-1.1', file)), file).resolves.toBeTruthy();
    }
    expect(await readFile(join(dir, 'artifacts', 'agent-1.1', 'files_changed.txt'), 'utf8')).toBe(
      'env-keys.txt\nfeature-a.txt\nseen-title.txt\nshared.txt\n',
    );
    // The failed agent still left its partial work, bundled.
    const task14 = TaskFile.parse(
      JSON.parse(await readFile(join(dir, 'artifacts', 'agent-1.4', 'task.json'), 'utf8')),
    );
    expect(task14).toMatchObject({ status: 'failed', bundle: 'branch.bundle' });
    expect(await readFile(join(dir, 'artifacts', 'agent-1.4', 'changes.diff'), 'utf8')).toContain(
      '+half done',
    );
    // The agent's forged workflow command was printed indented, so the runner cannot obey it.
    const logged = legs.get('1.1')!.runtime.logs.map((l) => l.message);
    expect(logged).toContain('  │ ::error::forged by the agent');

    // What the publish job will ask of GitHub.
    gh.on('GET', `${REPO}/commits/${remote.sha}/check-runs`, 200, {
      total_count: 4,
      check_runs: checkRuns.map((c) => checkRun(c, remote.sha)),
    });
    const conclusions: Record<number, string> = {};
    gh.on(
      'PATCH',
      `${REPO}/check-runs/{check_run_id}`,
      200,
      (req) => {
        const body = req.body as { conclusion: string; output: { title: string } };
        conclusions[Number(req.params.check_run_id)] = `${body.conclusion}: ${body.output.title}`;
        return { id: Number(req.params.check_run_id) };
      },
      { times: 4 },
    );
    gh.on('GET', `${REPO}/pulls`, 200, [], { query: { head: 'acme:integration/pe-4242-1' } });
    gh.on('POST', `${REPO}/pulls`, 201, { number: 8, html_url: `${SERVER}/acme/widgets/pull/8` });
    gh.on('GET', `${REPO}/issues/7/comments`, 200, []);
    gh.on('POST', `${REPO}/issues/7/comments`, 201, {
      id: 77,
      html_url: `${SERVER}/acme/widgets/pull/7#c77`,
    });
    // Job `integrate`: no token; it runs the integration tests and leaves its result.
    const resultDir = join(dir, 'runners', 'integrate', 'temp', 'result');
    const requestsBefore = gh.requests.length;
    const integrate = await step(remote, 'integrate', plan.outputs.sha!, {
      mode: 'integrate',
      'execution-id': 'pe-4242-1',
      'bundle-dir': join(dir, 'artifacts'),
      'base-branch': plan.outputs['base-branch']!,
      group: plan.outputs.group!,
      'github-token': '',
      'result-dir': resultDir,
      // As the workflow passes it: the agent legs' kind.
      agent: 'command',
    });
    // Repairs are off (the command agent's default): the conflict leaves the job red.
    expect(integrate.outputs).toMatchObject({
      status: 'failed',
      merged: '["1.1"]',
      conflicts: '[{"task":"1.2","files":["shared.txt"]}]',
      repairs: '',
      report: join(resultDir, 'report.md'),
    });
    expect(integrate.runtime.failed).toMatch(/did not land every completed task/);
    expect(gh.requests.length).toBe(requestsBefore);

    // Job `publish`: the token, the result downloaded, nothing of the repository run.
    await passResult(resultDir, join(dir, 'runners', 'publish', 'temp', 'result'));
    const publish = await step(remote, 'publish', plan.outputs.sha!, {
      mode: 'publish',
      'execution-id': 'pe-4242-1',
      'base-branch': plan.outputs['base-branch']!,
      group: plan.outputs.group!,
      'github-token': 'ghs_integrate',
      'pr-token': 'ghs_app_token',
      'result-dir': join(dir, 'runners', 'publish', 'temp', 'result'),
    });
    gh.assertDone();

    // Outputs.
    expect(publish.outputs).toMatchObject({
      'integration-branch': 'integration/pe-4242-1',
      'pull-request': `${SERVER}/acme/widgets/pull/8`,
      merged: '["1.1"]',
      conflicts: '[{"task":"1.2","files":["shared.txt"]}]',
    });
    expect(JSON.parse(publish.outputs.branch!)).toHaveLength(4);
    expect(publish.runtime.failed).toBeNull();
    // The titles the App gives the same tasks (src/github-run/task-result.ts).
    expect(conclusions).toEqual({
      101: 'success: Completed and merged',
      102: 'failure: Not merged',
      103: 'failure: Failed',
      104: 'failure: Failed',
    });

    // The remote: every task branch with work, and the integration branch with the plan written back.
    const heads = await remote.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads']);
    const branches = heads.split('\n');
    expect(branches).toEqual(
      expect.arrayContaining(['main', 'feature', 'integration/pe-4242-1', task11.branch]),
    );
    expect(branches.filter((b) => b.startsWith('agent/'))).toHaveLength(4);
    const files = await remote.git(['ls-tree', '-r', '--name-only', 'integration/pe-4242-1']);
    expect(files.split('\n')).toEqual(
      expect.arrayContaining(['feature-a.txt', 'reports/pe-4242-1.md', 'MULTI_AGENT_PLAN.md']),
    );
    expect(files).not.toContain('broken.txt');
    expect(files).not.toContain('partial.txt');
    const written = await remote.git(['show', 'integration/pe-4242-1:MULTI_AGENT_PLAN.md']);
    const statuses = parsePlan(written).plan.tasks.map((t) => [t.id, t.status]);
    expect(statuses).toEqual([
      ['1.1', 'completed'],
      ['1.2', 'failed'],
      ['1.3', 'failed'],
      ['1.4', 'failed'],
      ['2.1', 'pending'],
      ['3.1', 'pending'],
    ]);
    // The CLI's words (test/github-run/plan-write-back.test.ts holds the shells to it).
    expect(written).toContain('(not integrated: merge conflict with task 1.1 in shared.txt)');
    expect(written).toContain('(validation failed: tests)');

    // The PR and the comment (bodies passed the OpenAPI check).
    const [pr] = gh.requestsTo('POST', '/repos/{owner}/{repo}/pulls');
    expect(pr!.headers.authorization).toBe('token ghs_app_token');
    expect(pr!.body).toMatchObject({ head: 'integration/pe-4242-1', base: 'feature' });
    // The same PR body the App writes (src/github-run; test/github-run holds the App to it).
    const prBody = (pr!.body as { body: string }).body;
    expect(prBody).toMatch(
      /^Integration of parallel-executor execution `pe-4242-1` \(group 1\)\.\n\n\*\*Merged\*\*\n- `1\.1`: /,
    );
    expect(prBody).toContain('\n\n**Not merged** (conflicts): `1.2`\n\n');
    expect(prBody).toMatch(/Report: `reports\/pe-4242-1\.md` · Started on #7 · \[Workflow run\]\(/);
    const [comment] = gh.requestsTo('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments');
    const body = (comment!.body as { body: string }).body;
    expect(body.startsWith('<!-- parallel-executor:report-pe-4242-1 -->\n')).toBe(true);
    expect(body).toMatch(
      /<sub>Execution `pe-4242-1` · \[Workflow run\]\(\S+\) · Integration PR #8<\/sub>\n$/,
    );
    expect(body).toMatch(/merge conflict|conflict/i);

    // The state for the workflow to upload, and the job summaries.
    const state = JSON.parse(
      await readFile(join(resultDir, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8'),
    ) as { integration: { merged: string[] }; tasks: Record<string, { status: string }> };
    expect(state.integration.merged).toEqual(['1.1']);
    // The comment asked for group 1: group 3, ready as it is, is not part of this run.
    expect(Object.keys(state.tasks)).toEqual(['1.1', '1.2', '1.3', '1.4']);
    expect(integrate.summary).toContain('# Parallel Execution Report');
    expect(publish.summary).toContain('# Parallel Execution Report');
    expect(await readFile(publish.outputs.report!, 'utf8')).toContain(
      '# Parallel Execution Report',
    );

    // The hostile title: never run, and passed on as it was written.
    await expect(stat(canary)).rejects.toThrow();
    await expect(stat(`${canary}-2`)).rejects.toThrow();
    expect(await readFile(join(home, 'sentinel'), 'utf8')).toBe('still here\n');
    expect(await remote.git(['show', `${task11.branch}:seen-title.txt`])).toBe(title);
    const legContext = await readFile(
      join(dir, 'artifacts', 'agent-1.1', 'AGENT_CONTEXT.md'),
      'utf8',
    );
    expect(legContext).toContain(title);
    // Each task is its own job: the context says messaging is not available, not "nobody else".
    expect(legContext).toContain('Messaging between agents is not available here');
    expect(legContext).not.toContain('$PE_MESSAGES_DIR');
    // The agent saw its API key and none of the runner's tokens or file commands.
    const keys = (await remote.git(['show', `${task11.branch}:env-keys.txt`])).split('\n');
    expect(keys).toContain('ANTHROPIC_API_KEY');
    expect(
      keys.filter((k) => /^(INPUT_|ACTIONS_|GITHUB_OUTPUT|GITHUB_ENV|GITHUB_TOKEN)/.test(k)),
    ).toEqual([]);
    // No token in any log line the action printed.
    const all = [plan, ...legs.values(), integrate, publish].flatMap((s) =>
      s.runtime.logs.map((l) => JSON.stringify(l)),
    );
    expect(all.filter((l) => /ghs_|sk-ant-|runtime-token-secret/.test(l))).toEqual([]);
  });
});

function pullRequest(sha: string) {
  return {
    number: 7,
    html_url: `${SERVER}/acme/widgets/pull/7`,
    state: 'open',
    title: 'Plan',
    body: '',
    head: { ref: 'feature', sha, repo: { full_name: 'acme/widgets' } },
    base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
  };
}

function checkRun(c: { id: number; name: string; external_id: string }, sha: string) {
  return {
    id: c.id,
    name: c.name,
    head_sha: sha,
    status: 'queued',
    conclusion: null,
    external_id: c.external_id,
    details_url: null,
    html_url: null,
    output: { title: 'Queued', summary: '' },
  };
}
