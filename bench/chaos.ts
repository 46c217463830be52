/**
 * Chaos: many seeded scenarios of misbehaving agents (test/support/messy-agents.ts) run by the
 * real CLI, with kill -9 of the orchestrator, resume, retries and clean (test/support/chaos.ts),
 * each checked against the work-safety invariant. Prints the totals, one line per failing
 * scenario with its seed (replay it with `--seed S --runs 1`), and which agent behaviours the
 * failures go with.
 *
 *   npx tsx bench/chaos.ts [--runs 40] [--seed 1] [--concurrency 1] [--verbose] [--keep]
 *
 * `--keep` leaves each scenario's repository and ledger in /tmp and prints where, to look at them.
 */
import { parseArgs } from 'node:util';
import { runScenario, scenarioFor, summarize, type ScenarioResult } from '../test/support/chaos.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1' },
    verbose: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
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
    const result = await runScenario(scenarioFor(seed), { keep: values.keep });
    results.push(result);
    const mark = result.report.ok ? 'ok  ' : 'FAIL';
    process.stderr.write(`${mark} ${result.description}\n`);
    if (values.verbose || !result.report.ok) process.stderr.write(`${summarize(result)}\n`);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => worker()));
results.sort((a, b) => a.seed - b.seed);

const total = (pick: (r: ScenarioResult) => string[]) =>
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
  `  of the lost items, ${total((r) => r.inKeptWorktree)} are still in a worktree the tool kept ` +
    '(in no ref); the others are gone from every ref and worktree',
);
for (const result of results.filter((r) => !r.report.ok)) {
  console.log(`FAIL seed ${result.seed}: ${oneLine(result)}`);
}

// Which behaviours the failures go with: each lost item counts once for every behaviour of the
// task it belongs to; checkout changes count by what changed.
const categories = new Map<string, number>();
const count = (key: string) => categories.set(key, (categories.get(key) ?? 0) + 1);
for (const result of results) {
  const scenario = scenarioFor(result.seed);
  const behavioursOf = (item: string) =>
    scenario.tasks.find((task) => item.startsWith(`${task.id}: `))?.behaviours ?? ['?'];
  for (const item of result.report.lostCommits) {
    for (const b of behavioursOf(item)) count(`lost commit, agent ${b}`);
  }
  for (const item of result.report.lostUncommitted) {
    for (const b of behavioursOf(item)) count(`lost uncommitted, agent ${b}`);
  }
  for (const item of result.report.falseMerges) {
    for (const b of behavioursOf(item)) count(`false merge, agent ${b}`);
  }
  for (const item of result.report.unreportedCheckoutChanges)
    count(`checkout: ${checkoutKind(item)}`);
  if (scenario.kill !== null && !result.report.ok)
    count(`(failing with a kill: ${killKind(result)})`);
}
if (categories.size > 0) {
  console.log('by category (an item counts once per behaviour of its task):');
  for (const [key, n] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`  ${n}\t${key}`);
}

function oneLine(result: ScenarioResult): string {
  return summarize(result).replace(/\n\s*/g, ' | ');
}

function checkoutKind(item: string): string {
  if (item.startsWith('HEAD')) return 'HEAD moved';
  if (item.startsWith('checkout file changed')) return 'file in the checkout';
  if (item.startsWith('refs/heads/')) return 'branch created or moved';
  if (item.startsWith('refs/tags/')) return 'tag';
  return item.split(':')[0] ?? item;
}

function killKind(result: ScenarioResult): string {
  const kill = scenarioFor(result.seed).kill!;
  return kill.trigger.kind === 'delay' ? 'after a delay' : `when ${kill.trigger.phase}`;
}
