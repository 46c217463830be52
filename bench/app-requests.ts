/**
 * GitHub API requests the app makes per execution, for N = 1, 4, 16 tasks: the whole life of an
 * execution (the `/parallel-run` comment, every workflow_job event of a realistic run, the run's
 * end) driven through the real app against the OpenAPI-checked fake GitHub, on virtual time.
 * Then the same for plans whose tasks run in two waves (half of them depend on the other half):
 * the app starts the second wave itself when the first lands.
 *
 * Printed per N: all requests and content-creating requests (POST/PATCH/PUT/DELETE, which GitHub
 * limits to 80/min and 500/h) with the targets beside them (≤ 4N + 20 and ≤ 3N + 10), the
 * dashboard edits, and the most content-creating requests in any one minute (≤ 80). Baseline,
 * measured in the same run: the same app with coalescing off (every check-run and dashboard
 * update written at once), to show what coalescing saves.
 *
 * Then a burst on one installation: ten pull requests each get `/parallel-run` three times plus
 * one redelivery (40 deliveries at once). Printed: the time from the burst to each execution's
 * workflow dispatch, the most writes in any one minute, and all requests, with the real write
 * spacing (1 s) on virtual time. Baseline, same run: one first-come write queue.
 *
 *     npx tsx bench/app-requests.ts
 */
import { STATE_ARTIFACT } from '../src/app/execution/names.js';
import { decodeRecord } from '../src/app/execution/record.js';
import { executionState, zipFiles } from '../test/app/support/artifacts.js';
import {
  commentPayload,
  HEAD_SHA,
  jobPayload,
  PLAN_PATH,
  runCompletedPayload,
  startHarness,
  type Harness,
} from '../test/app/support/app-harness.js';
import { planInWaves, planWithTasks } from '../test/app/support/plans.js';
import { runBurst } from '../test/app/support/burst.js';

const SIZES = [1, 4, 16];
const WAVE_SIZES = [4, 16];
const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface Figures {
  requests: number;
  writes: number;
  startWrites: number;
  dashboardEdits: number;
  maxWritesPerMinute: number;
  durationMin: number;
}

interface TimedEvent {
  at: number;
  name: string;
  payload: unknown;
}

/** A run as GitHub would report it: runners start a few seconds apart, tasks take 8–20 minutes. */
function timeline(h: Harness, runId: number, taskIds: string[], start: number): TimedEvent[] {
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
  void h;
  return events.sort((a, b) => a.at - b.at);
}

async function measure(n: number, coalesce: boolean, waves = 1): Promise<Figures> {
  const h = await startHarness(
    coalesce
      ? {}
      : {
          dashboardDelayMs: 0,
          dashboardMinIntervalMs: 0,
          checkRunQueuedDelayMs: 0,
          checkRunDelayMs: 0,
          checkRunFinishedDelayMs: 0,
        },
  );
  try {
    h.github.permissions.set('alice', 'write');
    const plan = waves === 1 ? planWithTasks(n) : planInWaves(n, waves);
    h.github.setFile(HEAD_SHA, PLAN_PATH, plan);
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
      for (const event of timeline(h, runId, taskIds, waveStart)) {
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
    await h.settle();
    h.gh.assertDone();
    const writes = h.sent.filter((r) => r.method !== 'GET' && r.method !== 'HEAD').map((r) => r.at);
    return {
      requests: h.gh.requests.length,
      writes: h.github.writes().length,
      startWrites,
      dashboardEdits: h.gh.requestsTo('PATCH', '/repos/{owner}/{repo}/issues/comments/{comment_id}')
        .length,
      maxWritesPerMinute: maxInWindow(writes, MINUTE),
      durationMin: (h.time.now() - start) / MINUTE,
    };
  } finally {
    h.close();
  }
}

function maxInWindow(times: number[], window: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= window) from++;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

const rows: string[][] = [];
let withinTargets = true;
for (const n of SIZES) {
  const coalesced = await measure(n, true);
  const naive = await measure(n, false);
  const requestTarget = 4 * n + 20;
  const writeTarget = 3 * n + 10;
  withinTargets &&=
    coalesced.requests <= requestTarget &&
    coalesced.writes <= writeTarget &&
    coalesced.maxWritesPerMinute <= 80;
  rows.push([
    String(n),
    `${coalesced.requests} (≤ ${requestTarget})`,
    `${coalesced.writes} (≤ ${writeTarget})`,
    String(coalesced.startWrites),
    String(coalesced.dashboardEdits),
    `${coalesced.maxWritesPerMinute} (≤ 80)`,
    `${naive.requests} / ${naive.writes}`,
    (naive.writes / coalesced.writes).toFixed(2),
    coalesced.durationMin.toFixed(0),
  ]);
}

const waveRows: string[][] = [];
for (const n of WAVE_SIZES) {
  const one = await measure(n, true);
  const two = await measure(n, true, 2);
  waveRows.push([
    String(n),
    `${one.requests} / ${one.writes}`,
    `${two.requests} / ${two.writes}`,
    `${two.requests - one.requests} / ${two.writes - one.writes}`,
    String(two.maxWritesPerMinute),
    two.durationMin.toFixed(0),
  ]);
}

const header = [
  'N tasks',
  'requests (target)',
  'content-creating (target)',
  'of which at start',
  'dashboard edits',
  'max content-creating/min',
  'baseline (no coalescing): requests / content-creating',
  'baseline ÷ app (content-creating)',
  'run length (min)',
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
console.log(
  'GitHub API requests per execution (comment → workflow_job events → run end), virtual time',
);
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(
  'GitHub limits content-creating requests to 80 per minute and 500 per hour per app installation.',
);
console.log(withinTargets ? 'Every count is within its target.' : 'SOME COUNTS MISS THEIR TARGET.');

const waveHeader = [
  'N tasks',
  'one wave: requests / content-creating',
  'two waves: requests / content-creating',
  'second wave costs',
  'max content-creating/min',
  'run length (min)',
];
const waveWidths = waveHeader.map((h, i) =>
  Math.max(h.length, ...waveRows.map((r) => r[i]!.length)),
);
console.log('');
console.log('The same execution in two waves (the app dispatches the second when the first lands)');
console.log(waveHeader.map((c, i) => c.padStart(waveWidths[i]!)).join('  '));
for (const row of waveRows) console.log(row.map((c, i) => c.padStart(waveWidths[i]!)).join('  '));

/** The burst: ten PRs, three commands and one redelivery each, on one installation. */
async function burst(prioritised: boolean) {
  const h = await startHarness({ prioritiseWrites: prioritised });
  try {
    const result = await runBurst(h, 10, 4);
    h.gh.assertDone();
    if (result.dispatchDelays.length !== 10) {
      throw new Error(`expected 10 dispatches, saw ${result.dispatchDelays.length}`);
    }
    return {
      ...result,
      maxWritesPerMinute: maxInWindow(
        result.writes.map((w) => w.at),
        MINUTE,
      ),
    };
  } finally {
    h.close();
  }
}

const ordered = await burst(true);
const firstCome = await burst(false);
const seconds = (ms: number) => (ms / SECOND).toFixed(0);
const burstHeader = [
  'write queue',
  'first dispatch (s)',
  'last dispatch (s)',
  'each dispatch (s)',
  'writes',
  'max writes/min',
  'requests',
];
const burstRows = [ordered, firstCome].map((r, i) => [
  i === 0 ? 'prioritised (app)' : 'first come (baseline)',
  seconds(r.dispatchDelays[0]!),
  seconds(r.dispatchDelays.at(-1)!),
  r.dispatchDelays.map(seconds).join(' '),
  String(r.writes.length),
  String(r.maxWritesPerMinute),
  String(r.requests),
]);
const burstWidths = burstHeader.map((h, i) =>
  Math.max(h.length, ...burstRows.map((r) => r[i]!.length)),
);
console.log('');
console.log(
  'A burst on one installation: 10 PRs × (3 × /parallel-run + 1 redelivery) = 40 deliveries at once, writes 1 s apart (virtual time)',
);
console.log(burstHeader.map((c, i) => c.padStart(burstWidths[i]!)).join('  '));
for (const row of burstRows) console.log(row.map((c, i) => c.padStart(burstWidths[i]!)).join('  '));
console.log(
  `Last dispatch: ${seconds(ordered.dispatchDelays.at(-1)!)} s (target ≤ 30 s); the first-come queue ÷ prioritised: ${(firstCome.dispatchDelays.at(-1)! / ordered.dispatchDelays.at(-1)!).toFixed(2)}.`,
);
