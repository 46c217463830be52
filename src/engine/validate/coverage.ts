import { join } from 'node:path';
import { readSmallFile } from '../small-file.js';

export interface CoverageReading {
  /** Line coverage in percent, two decimals. */
  percent: number;
  /** Relative to the worktree, for the check's note. */
  source: string;
}

const SUMMARY = 'coverage/coverage-summary.json';
const LCOV = 'coverage/lcov.info';

/**
 * Line coverage from the two reports most JS tools write: istanbul's json-summary
 * (`total.lines.pct`, from vitest, jest, c8, nyc) and lcov (`LH`/`LF` summed over files).
 * Only a report written at or after `notBefore` counts, so a stale report committed to the
 * repository or left by an earlier run is not passed off as this run's coverage.
 */
export async function readCoverage(
  worktree: string,
  notBefore: Date,
): Promise<CoverageReading | null> {
  const summary = await readFresh(join(worktree, SUMMARY), notBefore);
  const fromSummary = summary === null ? null : summaryPercent(summary);
  if (fromSummary !== null) return { percent: fromSummary, source: SUMMARY };
  const lcov = await readFresh(join(worktree, LCOV), notBefore);
  const fromLcov = lcov === null ? null : lcovPercent(lcov);
  if (fromLcov !== null) return { percent: fromLcov, source: LCOV };
  return null;
}

export function summaryPercent(text: string): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const pct = (parsed as { total?: { lines?: { pct?: unknown } } } | null)?.total?.lines?.pct;
  // istanbul writes "Unknown" when there are no lines at all.
  if (typeof pct !== 'number' || !Number.isFinite(pct)) return null;
  return round(Math.min(100, Math.max(0, pct)));
}

export function lcovPercent(text: string): number | null {
  let hit = 0;
  let found = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('LH:')) hit += Number(line.slice(3)) || 0;
    else if (line.startsWith('LF:')) found += Number(line.slice(3)) || 0;
  }
  if (found === 0) return null;
  return round((hit / found) * 100);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A coverage report the tests wrote in the worktree: never a FIFO or a device, at most 256 MB. */
function readFresh(path: string, notBefore: Date): Promise<string | null> {
  const read = readSmallFile(path, 256 * 1024 * 1024);
  // One second of slack for filesystems that store whole seconds.
  if (read === null || read.stats.mtimeMs < notBefore.getTime() - 1_000) {
    return Promise.resolve(null);
  }
  return Promise.resolve(read.text);
}
