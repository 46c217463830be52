/**
 * Durations as people write them in the config and in flags: `90s`, `10m`, `1h30m`, `500ms`, and
 * the same in words (`10 minutes`, `1 hour 30 min`). Here, below the config schema, so the file is
 * checked when it is read (every shell, `validate` too) by the rule a run applies.
 */

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

// Longest spelling first: the alternation takes the first that matches. `m` is minutes, never
// months, so the words add no second reading.
const PART =
  /(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)/g;

function unit(word: string): number {
  if (word === 'ms' || word.startsWith('milli')) return UNITS['ms']!;
  if (word === 'm' || word.startsWith('min')) return UNITS['m']!;
  return UNITS[word[0]!]!;
}

export const DURATION_HINT = 'Write durations like 90s, 10m, 1h, 1h30m or 10 minutes.';

/** Milliseconds, or null when `text` is not a duration (a bare number has no unit: refused). */
export function durationMs(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(PART)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s+/g, '') !== trimmed.replace(/\s+/g, '')) {
    return null;
  }
  return Math.round(parts.reduce((sum, part) => sum + Number(part[1]) * unit(part[2]!), 0));
}

/** What is wrong with `text` as a duration (`"10" is not a duration`), or null when nothing is. */
export function durationProblem(text: string): string | null {
  const ms = durationMs(text);
  if (ms === null) return `"${text}" is not a duration`;
  if (ms <= 0) return `"${text}" must be longer than zero`;
  return null;
}
