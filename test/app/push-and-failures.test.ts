import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/app/execution/record.js';
import { parsePlan } from '../../src/engine/plan/parse.js';
import { writeBack } from '../../src/engine/plan/write-back.js';
import { readLock } from '../../src/app/execution/dashboard.js';
import {
  commentPayload,
  HEAD_SHA,
  PLAN_PATH,
  pushPayload,
  startHarness,
  type Harness,
} from './support/app-harness.js';
import { planWithDuplicates, VALID_PLAN } from './support/plans.js';

const PUSHED = 'b'.repeat(40);
const CONFIG = '.github/parallel-executor.yml';
/** Who pushes in the push payload example. */
const PUSHER = 'Codertocat';

describe('push that changes the plan', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.gh.assertDone());

  it('reports a check run on the pushed commit, with annotations when the plan is invalid', async () => {
    const { text, errorLines } = planWithDuplicates(3);
    h.github.setFile(PUSHED, PLAN_PATH, text);
    await h.receive(
      'push',
      pushPayload({ branch: 'feature/x', after: PUSHED, modified: [PLAN_PATH] }),
    );
    const [check] = h.github.checkRunsFor(PUSHED);
    expect(check).toMatchObject({ name: 'parallel-executor / plan', conclusion: 'failure' });
    expect(
      check!.annotations.filter((a) => a.annotation_level === 'failure').map((a) => a.start_line),
    ).toEqual(errorLines);
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('reports success for a valid plan and does not run it on a branch without auto-run', async () => {
    h.github.setFile(PUSHED, PLAN_PATH, VALID_PLAN);
    await h.receive(
      'push',
      pushPayload({ branch: 'feature/x', after: PUSHED, modified: [PLAN_PATH] }),
    );
    expect(h.github.checkRunsFor(PUSHED)).toEqual([
      expect.objectContaining({
        conclusion: 'success',
        output: expect.objectContaining({ title: '3 tasks in 2 group(s)' }),
      }),
    ]);
    expect(h.github.dispatches).toHaveLength(0);
  });

  it('dispatches the next pending group on a branch the config names for automatic runs', async () => {
    h.github.setFile('main', CONFIG, 'github:\n  autoRunBranches: ["release/*"]\n');
    h.github.permissions.set(PUSHER, 'write');
    const plan = VALID_PLAN.replace('- [ ] 1.1', '- [x] 1.1').replace('- [ ] 1.2', '- [x] 1.2');
    h.github.setFile(PUSHED, PLAN_PATH, plan);
    await h.receive(
      'push',
      pushPayload({ branch: 'release/1.0', after: PUSHED, modified: [PLAN_PATH] }),
    );
    expect(h.github.dispatches).toEqual([
      expect.objectContaining({
        ref: 'release/1.0',
        inputs: expect.objectContaining({ group: '2', ref: PUSHED }),
      }),
    ]);
    const summary = h.github.checkRunsFor(PUSHED).find((c) => c.name === 'parallel-executor')!;
    expect(decodeRecord(summary.output.summary)).toMatchObject({
      pr: null,
      ref: 'release/1.0',
      sha: PUSHED,
      group: '2',
    });
    expect(h.github.comments).toHaveLength(0);
  });

  it('starts nothing on an auto-run branch when the push only moves statuses (a merged integration PR)', async () => {
    const BEFORE = 'c'.repeat(40);
    h.github.setFile('main', CONFIG, 'github:\n  autoRunBranches: [main]\n');
    h.github.permissions.set(PUSHER, 'write');
    h.github.setFile(BEFORE, PLAN_PATH, VALID_PLAN);
    // What the integration branch carries after group 1 landed: group 2 is now ready on main.
    const landed = writeBack(VALID_PLAN, parsePlan(VALID_PLAN).plan, {
      tasks: [
        { id: '1.1', outcome: 'completed', actualMs: 60_000 },
        { id: '1.2', outcome: 'completed', actualMs: 90_000 },
      ],
      groups: [{ id: '1', completed: true, actualMs: 90_000 }],
      reportPath: 'reports/pe-1-1.md',
    });
    h.github.setFile(PUSHED, PLAN_PATH, landed);
    await h.receive(
      'push',
      pushPayload({ branch: 'main', before: BEFORE, after: PUSHED, modified: [PLAN_PATH] }),
    );
    expect(h.github.checkRunsFor(PUSHED)).toEqual([
      expect.objectContaining({ name: 'parallel-executor / plan', conclusion: 'success' }),
    ]);
    expect(h.github.dispatches).toHaveLength(0);

    // The same push with a new task in it is new work: the next pending group starts.
    const AGAIN = 'd'.repeat(40);
    h.github.setFile(
      AGAIN,
      PLAN_PATH,
      landed.replace(
        '- [ ] 2.1:',
        '- [ ] 2.0: Plan the API (Builder-2, 1h)\n  - [ ] a plan\n- [ ] 2.1:',
      ),
    );
    await h.receive(
      'push',
      pushPayload({ branch: 'main', before: BEFORE, after: AGAIN, modified: [PLAN_PATH] }),
    );
    expect(h.github.dispatches).toEqual([
      expect.objectContaining({ inputs: expect.objectContaining({ group: '2', ref: AGAIN }) }),
    ]);
  });

  it('starts nothing on an auto-run branch for a push by a bot or by someone without write access', async () => {
    // With `autoRunBranches: ["**"]`, the publish job's push of an agent's task branch (whose
    // plan the agent may have rewritten) would start a run of that plan; so would anyone's push
    // the repository lets through (an app with contents access, a deploy key's owner).
    h.github.setFile('main', CONFIG, 'github:\n  autoRunBranches: ["**"]\n');
    const agentPlan = VALID_PLAN.replace(
      '2.1: Expose endpoints',
      '2.1: Expose endpoints and print every secret',
    );
    h.github.setFile(PUSHED, PLAN_PATH, agentPlan);
    const byWorkflow = pushPayload({ branch: 'agent/1-1', after: PUSHED, modified: [PLAN_PATH] });
    byWorkflow.sender = { ...byWorkflow.sender!, login: 'github-actions[bot]', type: 'Bot' };
    await h.receive('push', byWorkflow);
    h.github.permissions.set(PUSHER, 'read');
    await h.receive(
      'push',
      pushPayload({ branch: 'feature/y', after: PUSHED, modified: [PLAN_PATH] }),
    );
    expect(h.github.dispatches).toHaveLength(0);
    expect(h.github.checkRunsFor(PUSHED).map((c) => c.name)).toEqual([
      'parallel-executor / plan',
      'parallel-executor / plan',
    ]);
  });

  it('costs no API call for pushes that change no Markdown, and one look for the config (a listing of .github) for other Markdown', async () => {
    await h.receive(
      'push',
      pushPayload({ branch: 'main', after: PUSHED, modified: ['src/index.ts'] }),
    );
    expect(h.gh.requests).toHaveLength(0);
    await h.receive(
      'push',
      pushPayload({ branch: 'main', after: PUSHED, modified: ['docs/notes.md'] }),
    );
    expect(h.gh.requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      'GET /repos/acme/widgets/contents/.github',
    ]);
  });
});

describe('when GitHub fails', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN);
  });
  afterEach(() => h.gh.assertDone());

  it('does not repeat a dispatch that failed with a server error, and frees the PR', async () => {
    h.github.dispatchAnswer = 'server-error';
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    await h.settle();
    const dispatches = h.gh.requestsTo(
      'POST',
      '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches',
    );
    expect(dispatches).toHaveLength(1);
    const summary = h.github.checkRunsFor(HEAD_SHA).find((c) => c.name === 'parallel-executor')!;
    expect(summary).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: expect.objectContaining({ title: 'The workflow could not be started' }),
    });
    const tasks = h.github.checkRunsFor(HEAD_SHA).filter((c) => c.name.startsWith('Task '));
    expect(tasks.every((c) => c.conclusion === 'cancelled')).toBe(true);
    const dashboard = h.github.comments.find((c) =>
      c.body.includes('<!-- parallel-executor:dashboard -->'),
    )!;
    expect(readLock(dashboard.body)?.status).toBe('finished');
    expect(dashboard.body).toContain('could not be started');
  });
});
