import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/action/main.js';
import { taskCheckName } from '../../src/forge/check-names.js';
import type { PlanReading, ReadPlan } from '../../src/action/plan-reader.js';
import type { Diagnostic, Plan } from '../../src/engine/plan/schema.js';
import { useGitHubApi } from '../support/github-api.js';
import { asPullRequestComment, retarget, webhookExample } from '../support/webhook-payloads.js';
import { aPlan, aTask } from './plans.js';
import { recordingRuntime } from './recording-runtime.js';

const PLAN_TEXT =
  '# Plan\n\n(plan mode is fed a Plan object here; e2e.test.ts runs the real parser)\n';
const SHA = 'c'.repeat(40);
const EVIL = '$(rm -rf ~) `id` ${{ secrets.X }} | <img src=x>';

// Stands in for the engine's parser: it checks it was given the plan file's text.
function reader(plan: Plan, diagnostics: Diagnostic[] = []): () => Promise<ReadPlan> {
  return async () =>
    (text: string, file: string): PlanReading => {
      expect([text, file]).toEqual([PLAN_TEXT, 'MULTI_AGENT_PLAN.md']);
      return { plan, diagnostics };
    };
}

describe('plan mode', () => {
  const api = useGitHubApi({ baseUrl: 'https://ghe.example.com/api/v3' });
  let workspace: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'pe-plan-mode-'));
    await writeFile(join(workspace, 'MULTI_AGENT_PLAN.md'), PLAN_TEXT);
    env = {
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_WORKSPACE: workspace,
      GITHUB_API_URL: 'https://ghe.example.com/api/v3',
      GITHUB_SHA: SHA,
      GITHUB_RUN_ID: '123',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
    };
  });
  afterEach(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  const plan = aPlan([
    aTask('1.1', { group: '1', title: EVIL }),
    aTask('1.2', { group: '1' }),
    aTask('2.1', { group: '2', dependsOn: ['1.1'] }),
  ]);

  it('outputs the matrix, the execution id and the counts, and queues one check run per task', async () => {
    const gh = api();
    await mkdir(join(workspace, '.github'));
    await writeFile(
      join(workspace, '.github', 'parallel-executor.yml'),
      'github:\n  maxParallel: 1\n',
    );
    const names: string[] = [];
    gh.on(
      'POST',
      '/repos/acme/widgets/check-runs',
      201,
      (req) => {
        names.push(String((req.body as { name: string }).name));
        return { id: names.length };
      },
      { times: 2 },
    );
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 'ghs_secret' });
    const sleeps: number[] = [];
    await run({ runtime, env, readPlan: reader(plan), sleep: async (ms) => void sleeps.push(ms) });
    expect(runtime.failed).toBeNull();
    expect(sleeps).toHaveLength(1); // the second check run waited for the first, ~1 s
    expect(runtime.outputs).toEqual({
      matrix: '{"include":[{"task":"1.1"},{"task":"1.2"}]}',
      'execution-id': 'pe-123-2',
      'task-count': '2',
      'max-parallel': '1',
      // No git checkout here: the commit the runner names; no branch to target without an event.
      sha: SHA,
      'base-branch': '',
      group: '',
    });
    expect(names).toEqual([taskCheckName(plan.tasks[0]!), 'Task 1.2: Task 1.2']);
    expect(gh.requests[0]?.body).toMatchObject({
      head_sha: SHA,
      status: 'queued',
      external_id: 'pe-123-2:1.1',
    });
    expect(runtime.secrets).toEqual(['ghs_secret']);
    // An untrusted title stays text in the summary: no table break, no HTML.
    expect(runtime.summary).toContain(
      '\\$(rm -rf \\~) \\`id\\` \\${{ secrets.X }} \\| \\<img src=x\\>',
    );
    expect(runtime.summary).toMatch(/waiting task \| waits for[\s\S]*\| 2\.1 \| 1\.1 \|/);
  });

  it('annotates each problem on its plan line and fails with the first one', async () => {
    api();
    const diagnostics: Diagnostic[] = [
      {
        severity: 'error',
        code: 'unknown-dependency',
        message: 'Task 2.1 depends on 9.9, which does not exist',
        line: 14,
        column: 3,
        hint: 'Fix the id.',
      },
      {
        severity: 'warning',
        code: 'no-estimate',
        message: 'Task 1.2 has no estimate',
        line: 9,
        column: 1,
        hint: null,
      },
    ];
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({ runtime, env, readPlan: reader(plan, diagnostics) });
    expect(runtime.annotations).toEqual([
      {
        level: 'error',
        message: 'Task 2.1 depends on 9.9, which does not exist — Fix the id.',
        where: {
          file: 'MULTI_AGENT_PLAN.md',
          startLine: 14,
          startColumn: 3,
          title: 'plan: unknown-dependency',
        },
      },
      {
        level: 'warning',
        message: 'Task 1.2 has no estimate',
        where: {
          file: 'MULTI_AGENT_PLAN.md',
          startLine: 9,
          startColumn: 1,
          title: 'plan: no-estimate',
        },
      },
    ]);
    expect(runtime.failed).toMatch(
      /MULTI_AGENT_PLAN.md has 1 error; the first: line 14: Task 2.1 depends on 9.9/,
    );
    expect(runtime.failed).toMatch(/\nhint: Each problem is annotated/);
    expect(runtime.summary).toContain(
      '| error | `MULTI_AGENT_PLAN.md:14:3` | `unknown-dependency` |',
    );
    expect(runtime.outputs).toEqual({});
  });

  it('in a dry run starts nothing: empty matrix, no check runs', async () => {
    api();
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't', 'dry-run': 'true' });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.outputs).toMatchObject({ matrix: '{"include":[]}', 'task-count': '0' });
    expect(runtime.summary).toMatch(/dry run, nothing started[\s\S]*\| 1\.2 \|/);
  });

  it('runs exactly the tasks asked for, and leaves check runs to the app when it manages the run', async () => {
    api(); // no request expected at all
    const runtime = recordingRuntime({
      mode: 'plan',
      'github-token': 't',
      tasks: '1.2, 2.1',
      'app-managed': 'true',
    });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.failed).toBeNull();
    // 2.1 waits for 1.1, which is not done: it is left for a later wave.
    expect(runtime.outputs).toMatchObject({
      matrix: '{"include":[{"task":"1.2"}]}',
      'task-count': '1',
      'base-branch': '',
    });
    expect(runtime.summary).toContain('Selection: tasks 1.2, 2.1.');
  });

  it('goes on without check runs when the token may not create them', async () => {
    const gh = api();
    gh.on('POST', '/repos/acme/widgets/check-runs', 403, {
      message: 'Resource not accessible by integration',
    });
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.failed).toBeNull();
    expect(runtime.outputs['task-count']).toBe('2');
    expect(
      runtime.logs.some((l) => l.level === 'warn' && /cannot create check runs/.test(l.message)),
    ).toBe(true);
  });

  it('starts nothing for a refused comment, and the plan is not even read', async () => {
    const gh = api();
    const payload = asPullRequestComment(
      retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
      {
        number: 7,
        body: '/parallel-run',
        user: 'mallory',
      },
    );
    const eventPath = join(workspace, 'event.json');
    await writeFile(eventPath, JSON.stringify(payload));
    gh.on('GET', '/repos/acme/widgets/collaborators/mallory/permission', 200, {
      permission: 'none',
      role_name: 'none',
      user: null,
    });
    gh.on('POST', '/repos/acme/widgets/issues/7/comments', 201, { id: 1, html_url: 'u' });
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    const readPlan = async () => {
      throw new Error('the plan must not be read for a refused comment');
    };
    await run({
      runtime,
      env: { ...env, GITHUB_EVENT_NAME: 'issue_comment', GITHUB_EVENT_PATH: eventPath },
      readPlan,
    });
    expect(runtime.failed).toBeNull();
    expect(runtime.outputs).toMatchObject({ 'task-count': '0', matrix: '{"include":[]}' });
  });

  describe('one execution per pull request', () => {
    const REPO = '/repos/acme/widgets';
    const RUNS = `${REPO}/actions/workflows/parallel-run.yml/runs`;
    const aRun = (
      id: number,
      title: string,
      event = 'issue_comment',
      status = 'in_progress',
      head = 'acme/widgets',
      actor = 'alice',
    ) => ({
      id,
      name: 'parallel-run',
      event,
      display_title: title,
      status,
      created_at: '2026-11-05T10:00:00Z',
      html_url: `https://ghe.example.com/acme/widgets/actions/runs/${id}`,
      head_repository: { full_name: head },
      triggering_actor: { login: actor },
    });
    const runs = (...list: Array<ReturnType<typeof aRun>>) => ({
      total_count: list.length,
      workflow_runs: list,
    });

    /** `/parallel-run` on PR 7 by a writer, in run 123 of the caller workflow. */
    async function commentRun(gh: ReturnType<typeof api>): Promise<Record<string, string>> {
      const payload = asPullRequestComment(
        retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'widgets' }),
        { number: 7, body: '/parallel-run', user: 'alice' },
      );
      const eventPath = join(workspace, 'event.json');
      await writeFile(eventPath, JSON.stringify(payload));
      gh.on('GET', `${REPO}/collaborators/alice/permission`, 200, {
        permission: 'write',
        role_name: 'write',
        user: null,
      });
      gh.on('GET', `${REPO}/pulls/7`, 200, {
        number: 7,
        html_url: 'https://ghe.example.com/acme/widgets/pull/7',
        state: 'open',
        title: 'Plan',
        body: '',
        head: { ref: 'feature', sha: SHA, repo: { full_name: 'acme/widgets' } },
        base: { ref: 'main', repo: { full_name: 'acme/widgets' } },
      });
      gh.on('POST', `${REPO}/issues/comments/{comment_id}/reactions`, 201, {
        id: 1,
        content: 'rocket',
      });
      return {
        ...env,
        GITHUB_EVENT_NAME: 'issue_comment',
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_WORKFLOW_REF: 'acme/widgets/.github/workflows/parallel-run.yml@refs/heads/main',
      };
    }

    const noPlan = async () => {
      throw new Error('the plan must not be read while another execution runs');
    };

    it('tells the commenter that one is running, and starts no agent', async () => {
      const gh = api();
      const runEnv = await commentRun(gh);
      gh.on(
        'GET',
        RUNS,
        200,
        runs(
          aRun(123, 'parallel-run issue_comment (PR #7)'),
          aRun(121, 'parallel-run issue_comment (PR #8)'),
          aRun(120, 'parallel-run issue_comment (PR #7)'),
        ),
        { query: { status: 'in_progress' } },
      );
      gh.on('POST', `${REPO}/issues/7/comments`, 201, { id: 2, html_url: 'u' });
      const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
      await run({ runtime, env: runEnv, readPlan: noPlan, sleep: async () => undefined });

      expect(runtime.failed).toBeNull();
      expect(runtime.outputs).toMatchObject({
        matrix: '{"include":[]}',
        'task-count': '0',
        'execution-id': '',
      });
      const [reply] = gh.requestsTo('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments');
      expect((reply!.body as { body: string }).body).toContain(
        'An execution is already running on this pull request ([workflow run](https://ghe.example.com/acme/widgets/actions/runs/120))',
      );
      // The one escaper breaks `#7` with an invisible joiner: no cross-reference from a summary.
      expect(runtime.summary).toContain('another execution is running on pull request \\#\u20607');
      expect(gh.requestsTo('POST', '/repos/{owner}/{repo}/check-runs')).toEqual([]);
    });

    it('counts a queued next wave of another execution, even when it is newer', async () => {
      const gh = api();
      const runEnv = await commentRun(gh);
      gh.on('GET', RUNS, 200, runs(aRun(123, 'parallel-run issue_comment (PR #7)')), {
        query: { status: 'in_progress' },
      });
      gh.on(
        'GET',
        RUNS,
        200,
        runs(aRun(130, 'parallel-run pe-99-1 (PR #7)', 'workflow_dispatch', 'queued')),
        { query: { status: 'queued' } },
      );
      gh.on('POST', `${REPO}/issues/7/comments`, 201, { id: 2, html_url: 'u' });
      const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
      await run({ runtime, env: runEnv, readPlan: noPlan, sleep: async () => undefined });
      expect(runtime.outputs).toMatchObject({ 'task-count': '0' });
    });

    it('does not yield to the runs of someone without write permission commenting /parallel-run', async () => {
      // Anyone can comment: runs started one after the other would hold the PR for as long as
      // someone keeps commenting (each is stopped by its gate, but counted while it runs).
      const gh = api();
      const runEnv = await commentRun(gh);
      gh.on(
        'GET',
        RUNS,
        200,
        runs(
          aRun(
            100,
            'parallel-run issue_comment (PR #7)',
            'issue_comment',
            'in_progress',
            'acme/widgets',
            'mallory',
          ),
        ),
        { query: { status: 'in_progress' } },
      );
      gh.on(
        'GET',
        RUNS,
        200,
        runs(
          aRun(
            101,
            'parallel-run issue_comment (PR #7)',
            'issue_comment',
            'queued',
            'acme/widgets',
            'mallory',
          ),
        ),
        { query: { status: 'queued' } },
      );
      gh.on('GET', `${REPO}/collaborators/mallory/permission`, 200, {
        permission: 'read',
        role_name: 'read',
        user: null,
      });
      gh.on('POST', `${REPO}/check-runs`, 201, { id: 1 }, { times: 2 });
      const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
      await run({ runtime, env: runEnv, readPlan: reader(plan), sleep: async () => undefined });
      expect(runtime.failed).toBeNull();
      expect(runtime.outputs).toMatchObject({ 'task-count': '2' });
      expect(gh.requestsTo('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments')).toEqual(
        [],
      );
      // Asked once for the two runs.
      expect(
        gh.requestsTo('GET', '/repos/{owner}/{repo}/collaborators/{username}/permission'),
      ).toHaveLength(2);
    });

    it("does not yield to a fork's pull request run that names the PR (its workflow text is the fork's)", async () => {
      const gh = api();
      const runEnv = await commentRun(gh);
      gh.on(
        'GET',
        RUNS,
        200,
        runs(
          aRun(
            100,
            'parallel-run issue_comment (PR #7)',
            'pull_request',
            'in_progress',
            'mallory/widgets',
          ),
        ),
        { query: { status: 'in_progress' } },
      );
      gh.on(
        'GET',
        RUNS,
        200,
        runs(aRun(101, 'x (PR #7)', 'pull_request', 'queued', 'mallory/widgets')),
        { query: { status: 'queued' } },
      );
      gh.on('POST', `${REPO}/check-runs`, 201, { id: 1 }, { times: 2 });
      const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
      await run({ runtime, env: runEnv, readPlan: reader(plan), sleep: async () => undefined });
      expect(runtime.failed).toBeNull();
      expect(runtime.outputs).toMatchObject({ 'task-count': '2' });
      expect(gh.requestsTo('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments')).toEqual(
        [],
      );
    });

    it('goes on when the other runs are for other PRs, or newer starts that yield to this one', async () => {
      const gh = api();
      const runEnv = await commentRun(gh);
      gh.on(
        'GET',
        RUNS,
        200,
        runs(
          aRun(125, 'parallel-run issue_comment (PR #7)'),
          aRun(123, 'parallel-run issue_comment (PR #7)'),
          aRun(90, 'parallel-run issue_comment (PR #70)'),
        ),
        { query: { status: 'in_progress' } },
      );
      gh.on('GET', RUNS, 200, runs(), { query: { status: 'queued' } });
      gh.on('POST', `${REPO}/check-runs`, 201, { id: 1 }, { times: 2 });
      const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
      await run({ runtime, env: runEnv, readPlan: reader(plan), sleep: async () => undefined });
      expect(runtime.failed).toBeNull();
      expect(runtime.outputs).toMatchObject({ 'task-count': '2', 'base-branch': 'feature' });
    });
  });

  it('fails clearly when the plan file is missing', async () => {
    api();
    await rm(join(workspace, 'MULTI_AGENT_PLAN.md'));
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.failed).toMatch(
      /the plan MULTI_AGENT_PLAN.md does not exist[\s\S]*hint: Check the `plan` input/,
    );
  });

  it('refuses a plan the pull request made a link out of the checkout, and reads nothing', async () => {
    // The plan job read /etc/hostname (or any file of the runner the link named) as the plan.
    api();
    await rm(join(workspace, 'MULTI_AGENT_PLAN.md'));
    await symlink('/etc/hostname', join(workspace, 'MULTI_AGENT_PLAN.md'));
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.failed).toMatch(
      /plan file MULTI_AGENT_PLAN.md is a symbolic link to \/etc\/hostname, outside the repository/,
    );
  });

  it('fails clearly on a bad config file, naming file and line', async () => {
    api();
    await mkdir(join(workspace, '.github'));
    await writeFile(
      join(workspace, '.github', 'parallel-executor.yml'),
      'github:\n  maxParallel: lots\n',
    );
    const runtime = recordingRuntime({ mode: 'plan', 'github-token': 't' });
    await run({ runtime, env, readPlan: reader(plan) });
    expect(runtime.failed).toMatch(/^\.github\/parallel-executor\.yml:2: "github\.maxParallel"/);
  });
});
