/**
 * Chaos: many seeded scenarios of misbehaving agents (test/support/messy-agents.ts) run by the
 * real CLI, with kill -9 of the orchestrator, resume, retries and clean (test/support/chaos.ts),
 * each checked against the work-safety invariant. Prints the totals, one line per failing
 * scenario with its seed (replay it with `--seed S --runs 1`), and which agent behaviours the
 * failures go with.
 *
 *   npx tsx bench/chaos.ts [--runs 40] [--seed 1] [--concurrency 1] [--verbose] [--keep] [--extra]
 *
 * `--extra` draws from the behaviours added later too (stash, a worktree of the agent's own, a
 * deleted branch, odd file names…): the same seed is then another scenario.
 * `--keep` leaves each scenario's repository and ledger in /tmp and prints where, to look at them.
 */
import { parseArgs } from 'node:util';
import {
  labelOf,
  runScenario,
  scenarioFor,
  summarize,
  type ScenarioResult,
} from '../test/support/chaos.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    extra: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const firstSeed = Number(values.seed);
const concurrency = Math.max(1, Math.min(2, Number(values.concurrency)));

const seeds = Array.from({ length: runs }, (_, i) => firstSeed + i);
const results: ScenarioResult[] = [];
let next = 0;

async function worker(): Promise<void> {
  while (next < seeds.length) {
    const seed = seeds[next++]!;
    const result = await runScenario(scenarioFor(seed, values.extra), { keep: values.keep });
    results.push(result);
    const mark = result.report.ok ? 'ok  ' : 'FAIL';
    process.stderr.write(`${mark} ${result.description}\n`);
    if (values.verbose || !result.report.ok) process.stderr.write(`${summarize(result)}\n`);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => worker()));
results.sort((a, b) => a.seed - b.seed);

const total = (pick: (r: ScenarioResult) => readonly unknown[]) =>
  results.reduce((sum, r) => sum + pick(r).length, 0);
console.log(
  `chaos: ${results.length} runs, lost commits: ${total((r) => r.report.lostCommits)}, ` +
    `lost uncommitted: ${total((r) => r.report.lostUncommitted)}, ` +
    `false merges: ${total((r) => r.report.falseMerges)}, ` +
    `checkout changes unreported: ${total((r) => r.report.unreportedCheckoutChanges)} ` +
    `(${results.filter((r) => !r.report.ok).length} failing scenarios, ` +
    `${Math.round((performance.now() - started) / 1000)} s)`,
);
console.log(
  `  not counted: ${total((r) => r.inFailedWorktrees)} item(s) in no ref but still in the kept ` +
    'worktree of a failed or cancelled task',
);
for (const result of results.filter((r) => !r.report.ok)) {
  console.log(`FAIL seed ${result.seed}: ${oneLine(result)}`);
}

// What the violations go with (test/support/chaos.ts `causesOf`), most frequent first.
const categories = new Map<string, { items: number; seeds: Set<number> }>();
for (const result of results) {
  for (const found of result.causes) {
    const cause = labelOf(found);
    const entry = categories.get(cause) ?? { items: 0, seeds: new Set<number>() };
    entry.items += 1;
    entry.seeds.add(result.seed);
    categories.set(cause, entry);
  }
}
if (categories.size > 0) {
  console.log('by cause (items, scenarios, example seeds):');
  for (const [cause, { items, seeds }] of [...categories].sort((a, b) => b[1].items - a[1].items)) {
    console.log(`  ${items}\t${seeds.size}\t${cause} (seeds ${[...seeds].slice(0, 4).join(', ')})`);
  }
}
const notes = new Map<string, number>();
for (const note of results.flatMap((r) => r.notes)) {
  const key = note.replace(/\d+ agent/, 'N agent').replace(/:.*$/s, '');
  notes.set(key, (notes.get(key) ?? 0) + 1);
}
for (const [note, n] of notes) console.log(`note, ${n} scenario(s): ${note}`);

function oneLine(result: ScenarioResult): string {
  return summarize(result).replace(/\n\s*/g, ' | ');
}
