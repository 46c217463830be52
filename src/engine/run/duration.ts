import { durationMs, durationProblem, DURATION_HINT } from '../config/duration.js';
import { UsageError } from '../errors.js';

/**
 * `90s`, `10m`, `1h`, `1h30m`, `500ms`, `10 minutes` → milliseconds. `what` names the flag or
 * config key in the error, because a bad duration is typed by a person who needs to know where.
 */
export function parseDurationMs(text: string, what: string): number {
  const problem = durationProblem(text);
  if (problem !== null) throw new UsageError(`${what}: ${problem}`, DURATION_HINT);
  return durationMs(text)!;
}
