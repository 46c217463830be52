/**
 * Integration test runs: batch-and-bisect against the seed's serial strategy (test after every
 * merge), measured in the same run on real git repositories, for N = 4, 8, 16 task branches with
 * 0, 1 and 2 culprits. The repository's test is a cheap shell script, so the counts, not the
 * wall times, are the point: in a real project each test run costs minutes.
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
  serial: IntegrationResult;
  bisectMs: number;
  serialMs: number;
}

async function measure(
  repo: RepoFixture,
  n: number,
  culprits: number[],
  strategy: 'batch-bisect' | 'serial',
): Promise<{ result: IntegrationResult; ms: number }> {
  const tag = `${strategy}-${n}-${culprits.join('_') || 'none'}`;
  const candidates = await taskBranches(repo, n, culprits, `b-${tag}`);
  const started = performance.now();
  const result = await integrate({
    repoRoot: repo.root,
    baseSha: repo.baseSha,
    branchName: `integration/${tag}`,
    workdir: join(repo.dir, 'work'),
    candidates,
    testCommand: TEST_COMMAND,
    strategy,
    detectConflicts: false,
    env: repo.env,
    logDir: join(repo.dir, 'logs', tag),
  });
  const ms = performance.now() - started;
  const expected = candidates
    .map((c) => c.taskId)
    .filter((id) => !culprits.includes(Number(id.slice(1))));
  if (result.merged.join() !== expected.join() || result.testsPassed !== true) {
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
        const bisect = await measure(repo, n, culprits, 'batch-bisect');
        const serial = await measure(repo, n, culprits, 'serial');
        rows.push({
          n,
          culprits,
          bisect: bisect.result,
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
    'bisect runs',
    'serial runs',
    'serial/bisect',
    'issue: 1+2·log2 N',
    'bisect ms',
    'serial ms',
  ];
  const lines = rows.map((row) => [
    String(row.n),
    row.culprits.length === 0 ? '0' : `${row.culprits.length} (${row.culprits.join(', ')})`,
    String(row.bisect.testRuns),
    String(row.serial.testRuns),
    `${(row.serial.testRuns / row.bisect.testRuns).toFixed(2)}x`,
    // The estimate for one culprit; other rows have none.
    row.culprits.length === 1 ? (1 + 2 * Math.log2(row.n)).toFixed(0) : '-',
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
  const bisectTotal = rows.reduce((sum, row) => sum + row.bisect.testRuns, 0);
  const serialTotal = rows.reduce((sum, row) => sum + row.serial.testRuns, 0);
  console.log(
    `\ntotal test runs: batch-bisect ${bisectTotal}, serial ${serialTotal} ` +
      `(serial/bisect ${(serialTotal / bisectTotal).toFixed(2)}x)`,
  );
}

await main();
