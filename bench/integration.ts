/**
 * Integration test runs: batch-and-bisect against the seed's serial strategy (test after every
 * merge), measured in the same run on real git repositories, for N = 4, 8, 16 task branches with
 * 0, 1 and 2 culprits. Batch-and-bisect runs three ways: plain bisection (the baseline),
 * culprit-first with the suspects the failing output names (it prints the broken files), and
 * culprit-first with a wrong hint and silent tests (the worst case: a suspect that is innocent).
 * The repository's test is a cheap shell script, so the counts, not the wall times, are the
 * point: in a real project each test run costs minutes.
 *
 *   npx tsx bench/integration.ts
 */
import { join } from 'node:path';
import { integrate } from '../src/engine/integrate/integrate.js';
import type { IntegrationResult } from '../src/engine/integrate/schema.js';
import {
  makeRepo,
  taskBranches,
  TEST_COMMAND,
  type RepoFixture,
} from '../test/integrate/fixture.js';

const SIZES = [4, 8, 16];

/** Culprit positions (1-based): one in the middle, two spread out. */
function culpritsFor(n: number, count: number): number[] {
  if (count === 0) return [];
  if (count === 1) return [Math.floor(n / 2) + 1];
  return [Math.floor(n / 4) + 1, Math.floor((3 * n) / 4)];
}

interface Row {
  n: number;
  culprits: number[];
  bisect: IntegrationResult;
  first: IntegrationResult;
  wrong: IntegrationResult;
  serial: IntegrationResult;
  bisectMs: number;
  serialMs: number;
}

type Way = 'plain' | 'culprit-first' | 'wrong-hint' | 'serial';

async function measure(
  repo: RepoFixture,
  n: number,
  culprits: number[],
  way: Way,
): Promise<{ result: IntegrationResult; ms: number }> {
  const tag = `${way}-${n}-${culprits.join('_') || 'none'}`;
  const candidates = await taskBranches(repo, n, culprits, `b-${tag}`);
  // An innocent task named as the risk (the first one that is not a culprit).
  const innocent = candidates.find((c) => !culprits.includes(Number(c.taskId.slice(1))))!;
  const started = performance.now();
  const result = await integrate({
    repoRoot: repo.root,
    baseSha: repo.baseSha,
    branchName: `integration/${tag}`,
    workdir: join(repo.dir, 'work'),
    candidates,
    testCommand: way === 'wrong-hint' ? `${TEST_COMMAND} >/dev/null 2>&1` : TEST_COMMAND,
    strategy: way === 'serial' ? 'serial' : 'batch-bisect',
    culpritFirst: way !== 'plain',
    suspects: way === 'wrong-hint' ? [innocent.taskId] : [],
    detectConflicts: false,
    env: repo.env,
    logDir: join(repo.dir, 'logs', tag),
  });
  const ms = performance.now() - started;
  const expected = candidates
    .map((c) => c.taskId)
    .filter((id) => !culprits.includes(Number(id.slice(1))));
  if ([...result.merged].sort().join() !== expected.sort().join() || result.testsPassed !== true) {
    throw new Error(`${tag}: unexpected result ${JSON.stringify(result)}`);
  }
  return { result, ms };
}

async function main(): Promise<void> {
  const repo = await makeRepo();
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      for (const count of [0, 1, 2]) {
        const culprits = culpritsFor(n, count);
        const bisect = await measure(repo, n, culprits, 'plain');
        const first = await measure(repo, n, culprits, 'culprit-first');
        const wrong = await measure(repo, n, culprits, 'wrong-hint');
        const serial = await measure(repo, n, culprits, 'serial');
        rows.push({
          n,
          culprits,
          bisect: bisect.result,
          first: first.result,
          wrong: wrong.result,
          serial: serial.result,
          bisectMs: bisect.ms,
          serialMs: serial.ms,
        });
      }
    }
  } finally {
    await repo.cleanup();
  }
  print(rows);
}

function print(rows: readonly Row[]): void {
  const header = [
    'N',
    'culprits (position)',
    'serial runs',
    'plain bisect runs',
    'culprit-first runs',
    'wrong hint runs',
    'target 1+log2 N',
    'bisect ms',
    'serial ms',
  ];
  const lines = rows.map((row) => [
    String(row.n),
    row.culprits.length === 0 ? '0' : `${row.culprits.length} (${row.culprits.join(', ')})`,
    String(row.serial.testRuns),
    String(row.bisect.testRuns),
    String(row.first.testRuns),
    String(row.wrong.testRuns),
    // The target for one culprit; other rows have none.
    row.culprits.length === 1 ? (1 + Math.log2(row.n)).toFixed(0) : '-',
    row.bisectMs.toFixed(0),
    row.serialMs.toFixed(0),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]!.length)),
  );
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const line of lines) console.log(format(line));
  const total = (pick: (row: Row) => IntegrationResult) =>
    rows.reduce((sum, row) => sum + pick(row).testRuns, 0);
  const [serial, plain, first, wrong] = [
    total((row) => row.serial),
    total((row) => row.bisect),
    total((row) => row.first),
    total((row) => row.wrong),
  ];
  console.log(
    `\ntotal test runs: serial ${serial}, plain bisect ${plain}, culprit-first ${first} ` +
      `(plain/culprit-first ${(plain / first).toFixed(2)}x), wrong hint ${wrong}`,
  );
}

await main();
