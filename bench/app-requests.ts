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
import { HEAD_SHA, PLAN_PATH, startHarness } from '../test/app/support/app-harness.js';
import { COALESCING_OFF, driveExecution } from '../test/app/support/realistic-run.js';
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

async function measure(n: number, coalesce: boolean, waves = 1): Promise<Figures> {
  const h = await startHarness(coalesce ? {} : COALESCING_OFF);
  try {
    h.github.permissions.set('alice', 'write');
    h.github.setFile(HEAD_SHA, PLAN_PATH, waves === 1 ? planWithTasks(n) : planInWaves(n, waves));
    const { start, startWrites } = await driveExecution(
      h,
      h.github.fileAt(HEAD_SHA, PLAN_PATH)!,
      waves,
    );
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
