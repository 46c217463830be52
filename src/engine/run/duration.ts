import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: 86_400_000,
};

/**
 * `90s`, `10m`, `1h`, `1h30m`, `500ms` → milliseconds. `what` names the flag or config key in the
 * error, because a bad duration is typed by a person who needs to know where.
 */
export function parseDurationMs(text: string, what: string): number {
  const trimmed = text.trim().toLowerCase();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)\s*(ms|sec|min|hr|s|m|h|d)/g)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s+/g, '') !== trimmed.replace(/\s+/g, '')) {
    throw new UsageError(
      `${what}: "${text}" is not a duration`,
      'Write durations like 90s, 10m, 1h or 1h30m.',
    );
  }
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * UNITS[part[2]!]!, 0);
  if (ms <= 0) throw new UsageError(`${what}: "${text}" must be longer than zero`);
  return Math.round(ms);
}
