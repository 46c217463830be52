import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLock } from '../../src/app/execution/dashboard.js';
import { STATE_ARTIFACT } from '../../src/app/execution/names.js';
import { decodeRecord, type ExecutionRecord } from '../../src/app/execution/record.js';
import { executionState, zipFiles, type TaskEnd } from './support/artifacts.js';
import {
  commentPayload,
  HEAD_REF,
  HEAD_SHA,
  jobPayload,
  PLAN_PATH,
  PR,
  runCompletedPayload,
  startHarness,
  WORKFLOW_PATH,
  type Harness,
} from './support/app-harness.js';
import { VALID_PLAN } from './support/plans.js';
import { nextWave } from '../../src/action/integrate/next-wave.js';
import { parsePlan } from '../../src/engine/plan/parse.js';

// VALID_PLAN runs in two waves: 1.1 and 1.2, then 2.1 (which depends on both).
const AFTER_WAVE_1 = VALID_PLAN.replace('- [ ] 1.1', '- [x] 1.1').replace('- [ ] 1.2', '- [x] 1.2');
const AFTER_WAVE_2 = AFTER_WAVE_1.replace('- [ ] 2.1', '- [x] 2.1');
const DISPATCH = '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches';

function summaryOf(h: Harness) {
  return h.github.checkRunsFor(HEAD_SHA).filter((c) => c.name === 'parallel-executor')[0]!;
}

function recordOf(h: Harness): ExecutionRecord {
  return decodeRecord(summaryOf(h).output.summary)!;
}

function taskCheck(h: Harness, execution: string, taskId: string) {
  return h.github.checkRuns.find(
    (c) => c.external_id === `${execution}:${taskId}` && c.name.startsWith('Task '),
  )!;
}

function dashboard(h: Harness, record: ExecutionRecord): string {
  return h.github.comments.find((c) => c.id === record.comment)!.body;
}

function reports(h: Harness, execution: string) {
  return h.github.comments.filter((c) =>
    c.body.includes(`<!-- parallel-executor:report-${execution} -->`),
  );
}

/**
 * A wave's run ends as GitHub reports it: its agent jobs, the state artifact of this wave's tasks
 * (what the integrate job uploads), the plan it pushed on the integration branch, the run
 * completed, then `workflow_run.completed`.
 */
async function endWave(
  h: Harness,
  record: ExecutionRecord,
  ends: Record<string, TaskEnd>,
  options: { plan?: string; conclusion?: string; delivery?: string } = {},
) {
  const ids = Object.keys(ends);
  const runId = record.run!;
  h.github.artifacts.set(runId, [
    {
      id: 77_000 + runId,
      name: STATE_ARTIFACT,
      zip: zipFiles({
        'PARALLEL_EXECUTION_STATUS.json': JSON.stringify(executionState(record, ends, ids)),
      }),
    },
  ]);
  h.github.jobs.set(
    runId,
    ids.map((id, i) => ({
      id: runId * 10 + i,
      name: `agent ${id}`,
      status: 'completed',
      conclusion: ends[id] === 'failed' ? 'failure' : 'success',
      started_at: '2026-11-05T10:01:00Z',
      completed_at: '2026-11-05T10:21:00Z',
    })),
  );
  if (options.plan) h.github.setFile(`integration/${record.execution}`, PLAN_PATH, options.plan);
  const clean = Object.values(ends).every((e) => e === 'merged');
  const conclusion = options.conclusion ?? (clean ? 'success' : 'failure');
  Object.assign(h.github.runs.get(runId)!, { status: 'completed', conclusion });
  const payload = runCompletedPayload({
    id: runId,
    conclusion,
    displayTitle: h.github.runs.get(runId)!.display_title,
  });
  await h.receive('workflow_run', payload, options.delivery);
  await h.settle();
  return payload;
}

describe('multi-wave executions through the app', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN);
  });
  afterEach(() => h.gh.assertDone());

  it('dispatches the next wave once, on the integration branch, and publishes at the end of the last', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const first = recordOf(h);
    expect(h.github.dispatches[0]!.inputs.tasks).toBe('1.1,1.2');
    await h.receive(
      'workflow_job',
      jobPayload('in_progress', { runId: first.run!, name: 'agent 1.1', id: 1 }),
    );

    const ended = await endWave(
      h,
      first,
      { '1.1': 'merged', '1.2': 'merged' },
      {
        plan: AFTER_WAVE_1,
      },
    );

    // Exactly one next dispatch: same execution, the integration branch, the ready task.
    expect(h.github.dispatches).toHaveLength(2);
    expect(h.github.dispatches[1]).toEqual({
      workflow: 'parallel-run.yml',
      ref: HEAD_REF,
      details: true,
      inputs: {
        'execution-id': first.execution,
        'correlation-id': `${first.execution}-w2`,
        group: 'all',
        plan: PLAN_PATH,
        ref: `integration/${first.execution}`,
        tasks: '2.1',
        'pr-number': String(PR),
      },
    });
    const second = recordOf(h);
    expect(second).toMatchObject({
      execution: first.execution,
      wave: 2,
      waveTasks: ['2.1'],
      run: 9002,
      pastRuns: [first.run],
    });
    const summary = summaryOf(h);
    expect(summary).toMatchObject({ status: 'in_progress', conclusion: null });
    expect(summary.output.title).toBe('Running 3 tasks, wave 2 of 2');
    // The same check runs: wave 1's concluded, wave 2's back in the queue.
    expect(taskCheck(h, first.execution, '1.1')).toMatchObject({
      conclusion: 'success',
      output: { title: 'Completed and merged' },
    });
    expect(taskCheck(h, first.execution, '1.2')).toMatchObject({ conclusion: 'success' });
    expect(taskCheck(h, first.execution, '2.1')).toMatchObject({
      status: 'queued',
      conclusion: null,
      output: { title: 'Queued' },
    });
    expect(h.github.checkRuns.filter((c) => c.name.startsWith('Task '))).toHaveLength(3);
    // Nothing is published between waves.
    expect(h.github.createdPulls).toEqual([]);
    expect(reports(h, first.execution)).toEqual([]);
    const between = dashboard(h, first);
    expect(readLock(between)).toMatchObject({ status: 'running', run: 9002 });
    expect(between).toContain('Wave 2 of 2');
    expect(between).toContain('✅ Wave 1 landed: 1.1, 1.2. ▶️ Wave 2 started: 2.1.');

    // Redelivered (a new delivery id, a fresh instance): the record has moved on, nothing is done.
    const writes = h.github.writes().length;
    await h.receive('workflow_run', ended, 'redelivered-1');
    const restarted = await h.anotherInstance();
    await restarted.receive('workflow_run', ended, 'redelivered-2');
    await restarted.receive(
      'workflow_job',
      jobPayload('completed', { runId: first.run!, name: 'agent 1.2', id: 2 }),
    );
    await restarted.app.idle();
    expect(h.github.dispatches).toHaveLength(2);
    expect(h.github.writes()).toHaveLength(writes);
    expect(h.gh.requestsTo('POST', DISPATCH)).toHaveLength(2);

    // Wave 2 runs: its task moves as its job starts.
    await h.receive(
      'workflow_job',
      jobPayload('in_progress', { runId: second.run!, name: 'agent 2.1', id: 3 }),
    );
    await h.time.advance(3000);
    expect(taskCheck(h, first.execution, '2.1')).toMatchObject({ status: 'in_progress' });

    // The last wave ends: the PR and one report for the whole execution.
    await endWave(h, second, { '2.1': 'merged' }, { plan: AFTER_WAVE_2 });
    expect(h.github.dispatches).toHaveLength(2);
    expect(h.github.createdPulls).toEqual([
      expect.objectContaining({ head: `integration/${first.execution}`, base: HEAD_REF }),
    ]);
    expect(h.github.createdPulls[0]!.body).toContain(
      '**Merged**\n- `1.1`: Build the model\n- `1.2`: Build the store\n- `2.1`: Expose endpoints\n',
    );
    const [report] = reports(h, first.execution);
    expect(reports(h, first.execution)).toHaveLength(1);
    for (const title of ['Build the model', 'Build the store', 'Expose endpoints'])
      expect(report!.body).toContain(title);
    expect(report!.body).toContain(`Execution \`${first.execution}\` (2 waves)`);
    expect(summaryOf(h)).toMatchObject({ status: 'completed', conclusion: 'success' });
    expect(summaryOf(h).output.title).toBe('3/3 tasks completed');
    expect(taskCheck(h, first.execution, '2.1')).toMatchObject({ conclusion: 'success' });
    expect(readLock(dashboard(h, first))?.status).toBe('finished');
  });

  it('a wave with a conflict stops the execution: no next dispatch, the rest concluded with why', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const record = recordOf(h);
    await endWave(h, record, { '1.1': 'merged', '1.2': 'conflict' }, { plan: AFTER_WAVE_1 });

    expect(h.github.dispatches).toHaveLength(1);
    expect(taskCheck(h, record.execution, '1.2')).toMatchObject({
      conclusion: 'failure',
      output: { title: 'Not merged' },
    });
    const rest = taskCheck(h, record.execution, '2.1');
    expect(rest).toMatchObject({ status: 'completed', conclusion: 'skipped' });
    expect(rest.output.summary).toContain(
      'Task 2.1 did not run: wave 1 did not land cleanly (merge conflict in 1.2).',
    );
    // What landed is published: the PR with 1.1, the report, a failed summary to retry from.
    expect(h.github.createdPulls).toHaveLength(1);
    expect(h.github.createdPulls[0]!.body).toContain(
      '**Merged**\n- `1.1`: Build the model\n\n**Not merged** (conflicts): `1.2`',
    );
    expect(reports(h, record.execution)).toHaveLength(1);
    expect(summaryOf(h)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(summaryOf(h).actions).toEqual([expect.objectContaining({ identifier: 'retry-failed' })]);
    expect(readLock(dashboard(h, record))?.status).toBe('finished');
  });

  it('stops with the reason when the next tasks are not marked done on the integration branch', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const record = recordOf(h);
    // A config with write-back off leaves the plan's statuses alone on the integration branch.
    await endWave(h, record, { '1.1': 'merged', '1.2': 'merged' }, { plan: VALID_PLAN });
    expect(h.github.dispatches).toHaveLength(1);
    expect(taskCheck(h, record.execution, '2.1').output.summary).toContain(
      `it waits for 1.1, 1.2, not done in the plan on \`integration/${record.execution}\``,
    );
    expect(h.github.createdPulls).toHaveLength(1);
  });

  it('finds the next wave’s run by its own correlation id when the dispatch answers 204', async () => {
    h.github.dispatchAnswer = 'no-content';
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const first = recordOf(h);
    expect(first.run).toBe(9001);
    await endWave(h, first, { '1.1': 'merged', '1.2': 'merged' }, { plan: AFTER_WAVE_1 });
    // Wave 1's run (same execution id, a minute old) is not taken for wave 2's.
    expect(recordOf(h)).toMatchObject({ wave: 2, run: 9002, pastRuns: [9001] });
    expect(h.github.runs.get(9002)!.display_title).toBe(`parallel-run ${first.execution}-w2`);
  });

  it('a next wave that cannot be dispatched ends the execution with the reason', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const record = recordOf(h);
    h.github.dispatchAnswer = 'server-error';
    await endWave(h, record, { '1.1': 'merged', '1.2': 'merged' }, { plan: AFTER_WAVE_1 });
    // A 502 on a dispatch is not repeated (it may have started a run).
    expect(h.gh.requestsTo('POST', DISPATCH)).toHaveLength(2);
    expect(taskCheck(h, record.execution, '2.1')).toMatchObject({ conclusion: 'skipped' });
    expect(taskCheck(h, record.execution, '2.1').output.summary).toContain(
      'the next wave could not be started',
    );
    expect(summaryOf(h)).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(h.github.createdPulls).toHaveLength(1);
    // The report is of the one wave that ran.
    expect(reports(h, record.execution)[0]!.body).toContain(`Execution \`${record.execution}\` ·`);
  });

  it('starts the next wave of an execution whose end it missed, and tells a new comment one is running', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const first = recordOf(h);
    h.github.setFile(`integration/${first.execution}`, PLAN_PATH, AFTER_WAVE_1);
    h.github.artifacts.set(first.run!, [
      {
        id: 1,
        name: STATE_ARTIFACT,
        zip: zipFiles({
          'PARALLEL_EXECUTION_STATUS.json': JSON.stringify(
            executionState(first, { '1.1': 'merged', '1.2': 'merged' }, ['1.1', '1.2']),
          ),
        }),
      },
    ]);
    Object.assign(h.github.runs.get(first.run!)!, { status: 'completed', conclusion: 'success' });
    // The app was down when the run ended; the next comment finds the run over.
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    expect(h.github.dispatches).toHaveLength(2);
    expect(h.github.dispatches[1]!.inputs).toMatchObject({
      'execution-id': first.execution,
      tasks: '2.1',
    });
    expect(h.github.comments.at(-1)!.body).toContain('An execution is already running');
    expect(h.github.comments.at(-1)!.body).toContain(first.execution);
  });

  it('does not start a next wave when the workflow cannot run on another branch', async () => {
    h.github.setFile(
      'main',
      WORKFLOW_PATH,
      'on:\n  workflow_dispatch:\n    inputs:\n      execution-id: {}\n      tasks: {}\n',
    );
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const record = recordOf(h);
    await endWave(h, record, { '1.1': 'merged', '1.2': 'merged' }, { plan: AFTER_WAVE_1 });
    expect(h.github.dispatches).toHaveLength(1);
    expect(taskCheck(h, record.execution, '2.1').output.summary).toContain(
      'declares no `ref` input, so the app cannot start the next wave',
    );
  });
  // One rule below both: the workflow's publish job and the app decide alike on the same state.
  it.each([
    [{ '1.1': 'merged', '1.2': 'merged' }, null],
    [{ '1.1': 'merged', '1.2': 'failed' }, '1.2 did not complete'],
    [{ '1.1': 'merged', '1.2': 'conflict' }, 'merge conflict in 1.2'],
    [{ '1.1': 'failed', '1.2': 'conflict' }, '1.1 did not complete; merge conflict in 1.2'],
  ] as Array<[Record<string, TaskEnd>, string | null]>)(
    'the app and the publish job agree whether wave 1 landed (%j)',
    async (ends, problems) => {
      await h.receive('issue_comment', commentPayload('/parallel-run'));
      const record = recordOf(h);
      const state = executionState(record, ends, Object.keys(ends));
      await endWave(h, record, ends, { plan: AFTER_WAVE_1 });
      const action = await nextWave({
        forge: null,
        settings: {
          group: null,
          tasks: null,
          appManaged: false,
          dryRun: false,
          executionId: record.execution,
          planFile: PLAN_PATH,
          runner: {
            workspace: '/nonexistent',
            owner: 'acme',
            repo: 'widgets',
            apiUrl: 'https://api.github.com',
            serverUrl: 'https://github.com',
            eventName: 'workflow_dispatch',
            eventPath: null,
            sha: HEAD_SHA,
            ref: null,
            runId: String(record.run),
            runAttempt: '1',
            outputPath: null,
            summaryPath: null,
            workflowRef: null,
            temp: null,
          },
        },
        plan: parsePlan(AFTER_WAVE_1).plan,
        state,
        integrationBranch: `integration/${record.execution}`,
        pushed: true,
        baseBranch: HEAD_REF,
        pullRequest: PR,
        configuredWorkflow: 'parallel-run.yml',
      });
      const rest = taskCheck(h, record.execution, '2.1');
      if (problems === null) {
        // Landed: the app dispatches wave 2; the publish job only lacks a token to do the same.
        expect(h.github.dispatches).toHaveLength(2);
        expect(action).toMatchObject({
          dispatched: false,
          reason: 'no github-token to dispatch with',
        });
        return;
      }
      expect(h.github.dispatches).toHaveLength(1);
      expect(rest.output.summary).toContain(`wave 1 did not land cleanly (${problems}).`);
      expect(action).toMatchObject({
        dispatched: false,
        reason: `this wave did not land cleanly (${problems}): fix it, then start the run again`,
      });
    },
  );
});
