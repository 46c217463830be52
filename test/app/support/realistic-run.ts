/**
 * A whole execution as GitHub would report it, driven through the app on virtual time: the
 * `/parallel-run` comment, every workflow_job event of a realistic run (runners a few seconds
 * apart, tasks of 8–20 minutes), the integrate job's state artifact and the run's end, wave after
 * wave. Shared by `bench/app-requests.ts` and the request-budget test.
 */
import { STATE_ARTIFACT } from '../../../src/app/execution/names.js';
import { decodeRecord } from '../../../src/app/execution/record.js';
import type { AppOptions } from '../../../src/app/app.js';
import { executionState, zipFiles } from './artifacts.js';
import {
  commentPayload,
  HEAD_SHA,
  jobPayload,
  PLAN_PATH,
  runCompletedPayload,
  type Harness,
} from './app-harness.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Every check-run and dashboard update written at once: the baseline coalescing is measured against. */
export const COALESCING_OFF: AppOptions = {
  dashboardDelayMs: 0,
  dashboardMinIntervalMs: 0,
  checkRunQueuedDelayMs: 0,
  checkRunDelayMs: 0,
  checkRunFinishedDelayMs: 0,
};

interface TimedEvent {
  at: number;
  name: string;
  payload: unknown;
}

/** A run as GitHub would report it: runners start a few seconds apart, tasks take 8–20 minutes. */
function timeline(runId: number, taskIds: string[], start: number): TimedEvent[] {
  const events: TimedEvent[] = [];
  const job = (
    at: number,
    action: 'queued' | 'in_progress' | 'completed',
    name: string,
    id: number,
  ) =>
    events.push({
      at,
      name: 'workflow_job',
      payload: jobPayload(action, {
        runId,
        name,
        id,
        startedAt: new Date(at).toISOString(),
        completedAt: new Date(at).toISOString(),
      }),
    });
  job(start + 10 * SECOND, 'queued', 'plan', 1);
  job(start + 20 * SECOND, 'in_progress', 'plan', 1);
  job(start + 50 * SECOND, 'completed', 'plan', 1);
  let lastEnd = start;
  taskIds.forEach((id, i) => {
    const began = start + 55 * SECOND + i * 3 * SECOND;
    const ended = began + (8 + ((i * 7) % 13)) * MINUTE;
    lastEnd = Math.max(lastEnd, ended);
    job(began - 2 * SECOND, 'queued', `agent ${id}`, 100 + i);
    job(began, 'in_progress', `agent ${id}`, 100 + i);
    job(ended, 'completed', `agent ${id}`, 100 + i);
  });
  job(lastEnd + 5 * SECOND, 'queued', 'integrate', 2);
  job(lastEnd + 10 * SECOND, 'in_progress', 'integrate', 2);
  job(lastEnd + 3 * MINUTE, 'completed', 'integrate', 2);
  events.push({
    at: lastEnd + 3 * MINUTE + 5 * SECOND,
    name: 'workflow_run',
    payload: null,
  });
  return events.sort((a, b) => a.at - b.at);
}

/**
 * Run `plan` (already set at HEAD_SHA) to its end in `waves` waves, every task merged. Returns
 * when it started and how many writes the start made.
 */
export async function driveExecution(
  h: Harness,
  plan: string,
  waves = 1,
): Promise<{ start: number; startWrites: number }> {
  const start = h.time.now();
  await h.receive('issue_comment', commentPayload('/parallel-run'));
  const startWrites = h.github.writes().length;
  const record = () => {
    const summary = h.github.checkRunsFor(HEAD_SHA).find((c) => c.name === 'parallel-executor')!;
    return decodeRecord(summary.output.summary)!;
  };
  let waveStart = start;
  const done = new Set<string>();
  for (let wave = 1; wave <= waves; wave++) {
    const current = record();
    const runId = current.run!;
    const taskIds = current.waveTasks ?? current.tasks.map((t) => t.id);
    for (const event of timeline(runId, taskIds, waveStart)) {
      await h.time.advanceTo(event.at);
      if (event.name !== 'workflow_run') {
        await h.receive(event.name, event.payload);
        continue;
      }
      // The integrate job: this wave's state, and the plan with its tasks done, pushed.
      const state = executionState(
        current,
        Object.fromEntries(taskIds.map((id) => [id, 'merged'])),
        taskIds,
      );
      h.github.artifacts.set(runId, [
        {
          id: runId,
          name: STATE_ARTIFACT,
          zip: zipFiles({ 'PARALLEL_EXECUTION_STATUS.json': JSON.stringify(state) }),
        },
      ]);
      for (const id of taskIds) done.add(id);
      h.github.setFile(
        `integration/${current.execution}`,
        PLAN_PATH,
        plan.replace(/- \[ \] (\d+\.\d+):/g, (line, id: string) =>
          done.has(id) ? `- [x] ${id}:` : line,
        ),
      );
      Object.assign(h.github.runs.get(runId)!, { status: 'completed', conclusion: 'success' });
      await h.receive(
        'workflow_run',
        runCompletedPayload({
          id: runId,
          conclusion: 'success',
          displayTitle: h.github.runs.get(runId)!.display_title,
        }),
      );
    }
    await h.settle();
    waveStart = h.time.now();
  }
  if (h.github.dispatches.length !== waves) {
    throw new Error(`expected ${waves} dispatches, saw ${h.github.dispatches.length}`);
  }
  return { start, startWrites };
}
