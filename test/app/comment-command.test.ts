import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLock } from '../../src/app/execution/dashboard.js';
import { decodeRecord } from '../../src/app/execution/record.js';
import { BOT } from './support/fake-github.js';
import {
  commentPayload,
  HEAD_REF,
  HEAD_SHA,
  PLAN_PATH,
  PR,
  startHarness,
  WORKFLOW_PATH,
  WORKFLOW_TEXT,
  type Harness,
} from './support/app-harness.js';
import { planWithDuplicates, VALID_PLAN } from './support/plans.js';

const CONFIG = '.github/parallel-executor.yml';

describe('/parallel-run on a pull request', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN);
  });
  afterEach(() => h.gh.assertDone());

  it('leaves /parallel-run to a workflow that listens to comments itself: one command, one execution', async () => {
    // The example caller (`on: issue_comment`) as the workflow the app would dispatch: GitHub has
    // already started it for this comment, so a dispatch would be a second execution.
    const caller = readFileSync(
      new URL('../../docs/examples/parallel-run-caller.yml', import.meta.url),
      'utf8',
    );
    h.github.setFile('main', WORKFLOW_PATH, caller);
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    await h.receive('issue_comment', commentPayload('/parallel-run retry 1.2'));
    await h.settle();
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRunsFor(HEAD_SHA)).toEqual([]);
    const replies = h.github.comments.map((c) => c.body);
    expect(replies).toHaveLength(2);
    for (const reply of replies) {
      expect(reply).toContain(
        `\`${WORKFLOW_PATH}\` on \`main\` starts on \`/parallel-run\` comments itself`,
      );
      expect(reply).toContain('delete the `issue_comment:` trigger');
    }

    // Without the trigger (as docs/app.md says), the app runs the command.
    h.github.setFile('main', WORKFLOW_PATH, WORKFLOW_TEXT);
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    await h.settle();
    expect(h.github.dispatches).toHaveLength(1);
  });

  it('starts an execution for an authorised commenter: reaction, check runs, dashboard, dispatch', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    await h.settle();
    const { github } = h;

    // The reaction is the first write, so the commenter sees it before the slower work.
    const writes = github.writes();
    expect(writes[0]).toMatchObject({
      method: 'POST',
      template: '/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions',
      body: { content: 'eyes' },
    });

    const checks = github.checkRunsFor(HEAD_SHA);
    const summary = checks.find((c) => c.name === 'parallel-executor')!;
    const record = decodeRecord(summary.output.summary)!;
    expect(record).toMatchObject({
      pr: PR,
      ref: HEAD_REF,
      sha: HEAD_SHA,
      group: 'all',
      plan: PLAN_PATH,
      startedBy: 'alice',
    });
    expect(record.tasks.map((t) => t.id)).toEqual(['1.1', '1.2', '2.1']);
    expect(summary).toMatchObject({ status: 'in_progress', external_id: record.execution });
    expect(summary.actions).toEqual([
      expect.objectContaining({ identifier: 'cancel', label: 'Cancel' }),
    ]);

    const tasks = checks.filter((c) => c.name.startsWith('Task '));
    expect(tasks.map((c) => [c.name, c.status, c.external_id])).toEqual([
      ['Task 1.1: Build the model', 'queued', `${record.execution}:1.1`],
      ['Task 1.2: Build the store', 'queued', `${record.execution}:1.2`],
      ['Task 2.1: Expose endpoints', 'queued', `${record.execution}:2.1`],
    ]);
    expect(tasks.map((c) => c.output.title)).toEqual([
      'Queued',
      'Queued',
      'Waiting for its dependencies',
    ]);
    expect(record).toMatchObject({ wave: 1, waveTasks: ['1.1', '1.2'], pastRuns: [] });
    expect(summary.output.title).toBe('Running 3 tasks, wave 1 of 2');

    expect(github.dispatches).toEqual([
      {
        workflow: 'parallel-run.yml',
        ref: HEAD_REF,
        details: true,
        inputs: {
          // Exactly the inputs the repository's parallel-run.yml declares (GitHub refuses others).
          'execution-id': record.execution,
          'correlation-id': record.execution,
          group: 'all',
          plan: PLAN_PATH,
          ref: HEAD_SHA,
          // The first wave: 2.1 waits for group 1, and the app starts it as wave 2.
          tasks: '1.1,1.2',
          'pr-number': String(PR),
        },
      },
    ]);
    // The run id from the dispatch answer is kept in the record (GitHub is the app's memory).
    expect(record.run).toBe(9001);
    expect(summary.details_url).toBe('https://github.com/acme/widgets/actions/runs/9001');

    const dashboards = github.comments.filter((c) =>
      c.body.includes('<!-- parallel-executor:dashboard -->'),
    );
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.user).toBe(BOT);
    expect(record.comment).toBe(dashboards[0]!.id);
    const lock = readLock(dashboards[0]!.body)!;
    expect(lock).toMatchObject({
      execution: record.execution,
      status: 'running',
      run: 9001,
      sha: HEAD_SHA,
    });
    expect(dashboards[0]!.body).toContain(record.execution);
    expect(dashboards[0]!.body).toMatch(/1\.1 Build the model .*⏳ pending .*`░+` 0%/);
    expect(dashboards[0]!.body).toContain(
      '[Workflow run](https://github.com/acme/widgets/actions/runs/9001)',
    );
  });

  it('runs one group when asked, and only its pending tasks', async () => {
    h.github.setFile(
      HEAD_SHA,
      PLAN_PATH,
      VALID_PLAN.replace('- [ ] 1.1', '- [x] 1.1').replace('- [ ] 1.2', '- [x] 1.2'),
    );
    await h.receive('issue_comment', commentPayload('/parallel-run 2'));
    expect(h.github.dispatches[0]?.inputs).toMatchObject({ group: '2', tasks: '2.1' });
    await h.settle();
    expect(h.github.checkRunsFor(HEAD_SHA).filter((c) => c.name.startsWith('Task '))).toHaveLength(
      1,
    );
  });

  it('starts nothing when no selected task can start yet, and says what they wait for', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run 2'));
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRuns).toHaveLength(0);
    expect(h.github.comments.at(-1)?.body).toBe(
      `Nothing was started: nothing of group 2 can run: 2.1 waits for 1.1 (pending), 1.2 (pending), not completed and not in this run (in the plan at \`${HEAD_REF}\`, ${HEAD_SHA}). Run what they wait for first, or name a task to run it again: \`/parallel-run retry <task>\`.`,
    );
  });

  it('starts nothing when every task is completed, and says to set a status back, not to retry', async () => {
    // "/parallel-run retry <task>" runs nothing for a completed task either.
    h.github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN.replaceAll('- [ ]', '- [x]'));
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.comments.at(-1)?.body).toBe(
      `Nothing was started: the plan has no task to run: every task of it is already completed (in the plan at \`${HEAD_REF}\`, ${HEAD_SHA}). To run a completed task again, set its status back to pending in the plan (an unticked "- [ ]", no ✅, under a group heading without ✅ COMPLETED, which makes every open task under it completed); or add new tasks to it.`,
    );
  });

  it('answers an unknown group with the groups the plan has, and starts nothing', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run 9'));
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.comments.at(-1)?.body).toBe(
      'Nothing was started: the plan has no group "9". Groups in this plan: 1, 2. Pass one of them, or all.',
    );
  });

  it('politely refuses someone without write access and does nothing else', async () => {
    h.github.permissions.set('mallory', 'read');
    await h.receive('issue_comment', commentPayload('/parallel-run', 'mallory'));
    expect(h.gh.requests.map((r) => `${r.method} ${r.template}`)).toEqual([
      'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
    ]);
    expect(h.github.comments[0]!.body).toMatch(/only people with write access/);
    expect(h.github.reactions).toHaveLength(0);
  });

  it('treats someone who is not a collaborator at all (404) as unauthorised', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run', 'stranger'));
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.comments[0]!.body).toMatch(/only people with write access/);
  });

  it('accepts maintainers and admins', async () => {
    h.github.permissions.set('bob', 'maintain');
    await h.receive('issue_comment', commentPayload('/parallel-run', 'bob'));
    expect(h.github.dispatches).toHaveLength(1);
  });

  it('refuses a fork PR with a comment saying why, without reading its plan', async () => {
    h.github.pulls.get(PR)!.headRepo = 'mallory/widgets';
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.comments.at(-1)?.body).toMatch(
      /comes from a fork \(`mallory\/widgets`\).*secrets/s,
    );
    expect(h.gh.requestsTo('GET', '/repos/{owner}/{repo}/contents/{path}')).toHaveLength(0);
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRuns).toHaveLength(0);
  });

  it('starts nothing on a closed PR, but still answers status', async () => {
    h.github.pulls.get(PR)!.state = 'closed';
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.comments.at(-1)?.body).toBe(
      'This pull request is closed; nothing was started.',
    );
    await h.receive('issue_comment', commentPayload('/parallel-run status'));
    expect(h.github.comments.at(-1)?.body).toContain('No execution is running');
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('ignores comments that are not commands, at no API cost', async () => {
    await h.receive('issue_comment', commentPayload('Looks good! We could /parallel-run later.'));
    await h.receive('issue_comment', commentPayload('```\n/parallel-run\n```'));
    expect(h.gh.requests).toHaveLength(0);
  });

  it('ignores bots unless the config allows them', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run', 'renovate[bot]', 'Bot'));
    // Only where the config would be is looked at (one listing of .github: neither spelling is
    // there), nothing is written.
    expect(h.gh.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'GET /repos/acme/widgets/contents/.github',
    ]);
    expect(h.github.dispatches).toHaveLength(0);

    h.github.setFile('main', CONFIG, 'github:\n  allowBots: true\n');
    h.github.permissions.set('renovate[bot]', 'write');
    await h.receive('issue_comment', commentPayload('/parallel-run', 'renovate[bot]', 'Bot'));
    expect(h.github.dispatches).toHaveLength(1);
  });

  it('never answers its own comments', async () => {
    h.github.setFile('main', CONFIG, 'github:\n  allowBots: true\n');
    await h.receive('issue_comment', commentPayload('/parallel-run', BOT, 'Bot'));
    expect(h.gh.requests).toHaveLength(0);
  });

  it('answers a bad config with what is wrong and where, and starts nothing', async () => {
    h.github.setFile(
      'main',
      CONFIG,
      'plan: MULTI_AGENT_PLAN.md\ngithub:\n  workflow: parallel-run.yml\n  allowBots: maybe\n',
    );
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const reply = h.github.comments.at(-1)!.body;
    expect(reply).toContain('could not read its configuration');
    expect(reply).toContain('`.github/parallel-executor.yml` line 4 on `main`');
    expect(reply).toContain('github.allowBots');
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRuns).toHaveLength(0);
  });

  it('reads .github/parallel-executor.yaml too, with its errors named by that file', async () => {
    h.github.setFile(
      'main',
      '.github/parallel-executor.yaml',
      'plan: MULTI_AGENT_PLAN.md\ngithub:\n  workflow: parallel-run.yml\n  allowBots: maybe\n',
    );
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const reply = h.github.comments.at(-1)!.body;
    expect(reply).toContain('`.github/parallel-executor.yaml` line 4 on `main`');
    expect(reply).toContain('github.allowBots');
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('refuses a default branch that has both .yml and .yaml, naming both', async () => {
    h.github.setFile('main', CONFIG, 'github:\n  workflow: parallel-run.yml\n');
    h.github.setFile('main', '.github/parallel-executor.yaml', 'github:\n  workflow: other.yml\n');
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const reply = h.github.comments.at(-1)!.body;
    expect(reply).toContain('could not read its configuration');
    expect(reply).toContain(
      'both .github/parallel-executor.yml and .github/parallel-executor.yaml exist; only one is read',
    );
    expect(reply).toContain('Keep one of them');
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('reads the config from the default branch, not from the PR', async () => {
    h.github.setFile(HEAD_SHA, CONFIG, 'github:\n  workflow: evil.yml\n');
    h.github.setFile('main', CONFIG, 'github:\n  workflow: agents.yml\n');
    h.github.setFile(
      'main',
      '.github/workflows/agents.yml',
      'on:\n  workflow_dispatch:\n    inputs:\n      tasks: {}\n      pr-number: {}\n',
    );
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.dispatches[0]).toMatchObject({
      workflow: 'agents.yml',
      inputs: { tasks: '1.1,1.2', 'pr-number': String(PR) },
    });
    expect(Object.keys(h.github.dispatches[0]!.inputs).sort()).toEqual(['pr-number', 'tasks']);
  });

  it('reports an invalid plan as a failed check run with annotations on its lines, and a comment', async () => {
    const { text, errorLines } = planWithDuplicates(56);
    h.github.setFile(HEAD_SHA, PLAN_PATH, text);
    await h.receive('issue_comment', commentPayload('/parallel-run'));

    expect(h.github.dispatches).toHaveLength(0);
    const [check, ...others] = h.github.checkRunsFor(HEAD_SHA);
    expect(others).toHaveLength(0);
    expect(check).toMatchObject({
      name: 'parallel-executor / plan',
      status: 'completed',
      conclusion: 'failure',
    });
    const failures = check!.annotations.filter((a) => a.annotation_level === 'failure');
    expect(failures.map((a) => a.start_line)).toEqual(errorLines);
    expect(failures.every((a) => a.path === PLAN_PATH && a.title === 'duplicate-id')).toBe(true);
    // 55 annotations: GitHub takes 50 per request, so the rest follow in an update.
    const sent = h.gh.requests.filter((r) =>
      r.template?.startsWith('/repos/{owner}/{repo}/check-runs'),
    );
    const counts = sent.map(
      (r) =>
        ((r.body as { output?: { annotations?: unknown[] } }).output?.annotations ?? []).length,
    );
    expect(counts).toEqual([50, 5]);

    const comment = h.github.comments.at(-1)!.body;
    expect(comment).toContain('<!-- parallel-executor:plan-diagnostics -->');
    expect(comment).toContain(`\`${PLAN_PATH}:${errorLines[0]}:1\``);
    expect(comment).toContain('nothing was started');
  });

  it('says so when the workflow is not on the default branch, creating nothing', async () => {
    h.github.removeFile('main', '.github/workflows/parallel-run.yml');
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.comments.at(-1)?.body).toContain(
      'The workflow `.github/workflows/parallel-run.yml` is not on the default branch `main`',
    );
    expect(h.github.checkRuns).toHaveLength(0);
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('says so when the plan file is missing', async () => {
    h.github.removeFile(HEAD_SHA, PLAN_PATH);
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.comments.at(-1)?.body).toContain(
      `There is no plan at \`${PLAN_PATH}\` on \`${HEAD_REF}\``,
    );
  });

  it('--dry-run shows what would run and dispatches nothing', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run 1 --dry-run'));
    const reply = h.github.comments.at(-1)!.body;
    expect(reply).toContain('**Dry run**: nothing was started');
    expect(reply).toMatch(/\| 1\.1 \| Builder-1 \| — \| Build the model \|/);
    expect(reply).toContain('"group": "1"');
    expect(reply).toContain(`"ref": "${HEAD_SHA}"`);
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRuns).toHaveLength(0);
  });

  it('answers help, and a command it does not understand, with the usage', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run help'));
    expect(h.github.comments.at(-1)?.body).toContain('/parallel-run retry <task-id>');
    await h.receive('issue_comment', commentPayload('/parallel-run --force'));
    expect(h.github.comments.at(-1)?.body).toContain(
      'I did not understand that command: unknown option `--force`',
    );
    expect(h.github.dispatches).toHaveLength(0);
  });
});
