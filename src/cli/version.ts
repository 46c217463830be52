import { readFileSync } from 'node:fs';

/**
 * The version in the package's own package.json: two folders up from both `src/cli` (tsx) and
 * `lib/cli` (built), so one release bump is the only place a version is written.
 */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}
