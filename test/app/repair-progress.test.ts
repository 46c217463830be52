import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeRecord, type ExecutionRecord } from '../../src/app/execution/record.js';
import { STATE_ARTIFACT } from '../../src/app/execution/names.js';
import { executionState, zipFiles } from './support/artifacts.js';
import {
  commentPayload,
  HEAD_SHA,
  jobPayload,
  PLAN_PATH,
  runCompletedPayload,
  startHarness,
  type Harness,
} from './support/app-harness.js';
import { VALID_PLAN } from './support/plans.js';

const CHECKS = '/repos/{owner}/{repo}/check-runs/{check_run_id}';

function recordOf(h: Harness): ExecutionRecord {
  const summary = h.github.checkRunsFor(HEAD_SHA).filter((c) => c.name === 'parallel-executor');
  return decodeRecord(summary.at(-1)!.output.summary)!;
}

function checksOf(h: Harness, taskId: string) {
  const { execution } = recordOf(h);
  return h.github.checkRuns.filter((c) => c.external_id === `${execution}:${taskId}`);
}

const repairCheck = (h: Harness, taskId: string) =>
  checksOf(h, taskId).filter((c) => c.name.endsWith(' (repair)'));
const taskCheck = (h: Harness, taskId: string) =>
  checksOf(h, taskId).filter((c) => !c.name.endsWith(' (repair)'));

describe('a repair leg in the app', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, VALID_PLAN);
  });
  afterEach(() => h.gh.assertDone());

  it('shows `repair 1.2` running, then its conclusion, then the run’s final result', async () => {
    await h.receive('issue_comment', commentPayload('/parallel-run'));
    const record = recordOf(h);
    const runId = record.run!;
    await h.receive(
      'workflow_job',
      jobPayload('completed', { runId, name: 'agent 1.2', id: 2, conclusion: 'success' }),
    );
    await h.time.advance(16 * 60_000);
    expect(taskCheck(h, '1.2')).toEqual([
      expect.objectContaining({ status: 'completed', conclusion: 'success' }),
    ]);

    await h.receive(
      'workflow_job',
      jobPayload('in_progress', { runId, name: 'repair 1.2', id: 7 }),
    );
    const [repair] = repairCheck(h, '1.2');
    expect(repair).toMatchObject({
      name: 'Task 1.2: Build the store (repair)',
      status: 'in_progress',
      output: { title: 'Repairing' },
      details_url: `https://github.com/acme/widgets/actions/runs/${runId}/job/7`,
    });
    expect(repair!.output.summary).toContain('a repair agent is working on it · [logs](');
    // The task's own check run stays completed: it never moves backwards.
    expect(taskCheck(h, '1.2')[0]).toMatchObject({ status: 'completed', conclusion: 'success' });

    await h.receive(
      'workflow_job',
      jobPayload('completed', { runId, name: 'repair 1.2', id: 7, conclusion: 'failure' }),
    );
    expect(repairCheck(h, '1.2')).toEqual([
      expect.objectContaining({
        status: 'completed',
        conclusion: 'failure',
        output: expect.objectContaining({ title: 'Repair: Agent failed' }),
      }),
    ]);
    // Late and repeated events change nothing.
    const writes = h.gh.requestsTo('PATCH', CHECKS).length;
    await h.receive(
      'workflow_job',
      jobPayload('in_progress', { runId, name: 'repair 1.2', id: 7 }),
    );
    await h.receive('workflow_job', jobPayload('in_progress', { runId, name: 'agent 1.2', id: 2 }));
    await h.time.advance(60_000);
    expect(h.gh.requestsTo('PATCH', CHECKS)).toHaveLength(writes);
    expect(repairCheck(h, '1.2')[0]).toMatchObject({ status: 'completed', conclusion: 'failure' });

    // The run's end: the final result replaces the leg's on both check runs.
    h.github.artifacts.set(runId, [
      {
        id: 77_000 + runId,
        name: STATE_ARTIFACT,
        zip: zipFiles({
          'PARALLEL_EXECUTION_STATUS.json': JSON.stringify(
            executionState(record, { '1.1': 'merged', '1.2': 'failed', '2.1': 'not-run' }),
          ),
        }),
      },
    ]);
    Object.assign(h.github.runs.get(runId)!, { status: 'completed', conclusion: 'failure' });
    await h.receive(
      'workflow_run',
      runCompletedPayload({ id: runId, conclusion: 'failure', displayTitle: record.execution }),
    );
    await h.settle();
    for (const check of [repairCheck(h, '1.2')[0], taskCheck(h, '1.2')[0]]) {
      expect(check).toMatchObject({
        status: 'completed',
        conclusion: 'failure',
        output: expect.objectContaining({ title: 'Failed' }),
      });
    }
    expect(repairCheck(h, '1.2')).toHaveLength(1);
  });
});
