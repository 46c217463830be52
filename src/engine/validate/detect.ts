import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { pathExists } from '../path-exists.js';
import { CheckName } from './schema.js';

export type ValidationConfig = Config['validation'];

export interface DetectedCheck {
  name: CheckName;
  /** Trusted shell text (the user's config or their own package.json), or null when skipped. */
  command: string | null;
  /** Where the command came from, or why the check is skipped — shown to the user as is. */
  note: string;
  critical: boolean;
}

/** The order checks run in: cheap and informative first, the build last (as the seed does). */
export const CHECK_ORDER: readonly CheckName[] = ['lint', 'tests', 'coverage', 'security', 'build'];

/** What `npm init` writes: a test script that always fails. It is not a test suite. */
const NPM_INIT_TEST = /no test specified/;

/**
 * Decide the command for each check. The config wins (`false` turns a check off); otherwise the
 * repository says: package.json scripts, and `npm audit --json` when a package-lock.json exists.
 * Every check is returned, skipped ones with the reason, so the output can say what was found.
 */
export async function detectChecks(
  worktree: string,
  config: ValidationConfig,
): Promise<DetectedCheck[]> {
  const scripts = await readScripts(worktree);
  const hasLock = await pathExists(join(worktree, 'package-lock.json'));
  const critical = new Set<CheckName>(config.critical);
  return CHECK_ORDER.map((name) => {
    const configured = config[name];
    const base = { name, critical: critical.has(name) };
    if (configured === false) {
      return { ...base, command: null, note: 'skipped: disabled in .github/parallel-executor.yml' };
    }
    if (configured !== undefined) {
      return { ...base, command: configured, note: 'from .github/parallel-executor.yml' };
    }
    return { ...base, ...fromRepository(name, scripts, hasLock) };
  });
}

function fromRepository(
  name: CheckName,
  scripts: Scripts,
  hasLock: boolean,
): { command: string | null; note: string } {
  if (name === 'security') {
    return hasLock
      ? { command: 'npm audit --json', note: 'package-lock.json found: npm audit --json' }
      : { command: null, note: 'skipped: no package-lock.json for npm audit' };
  }
  if (scripts === null) return { command: null, note: 'skipped: no package.json' };
  if (scripts === 'invalid') {
    // Run the usual command anyway: npm fails on the broken file, and the check shows why.
    const script = SCRIPT_NAMES[name][0]!;
    return { command: npmCommand(script), note: 'package.json is not valid JSON' };
  }
  const candidates = SCRIPT_NAMES[name];
  const script = candidates.find((candidate) => scripts[candidate] !== undefined);
  if (script === undefined) {
    const wanted = candidates.map((candidate) => `"${candidate}"`).join(' or ');
    return { command: null, note: `skipped: no ${wanted} script in package.json` };
  }
  if (name === 'tests' && NPM_INIT_TEST.test(scripts[script] ?? '')) {
    return { command: null, note: 'skipped: package.json "test" is the npm init placeholder' };
  }
  return { command: npmCommand(script), note: `package.json script "${script}"` };
}

function npmCommand(script: string): string {
  return script === 'test' ? 'npm test' : `npm run ${script}`;
}

const SCRIPT_NAMES: Record<Exclude<CheckName, 'security'>, readonly string[]> = {
  lint: ['lint'],
  tests: ['test'],
  coverage: ['test:coverage', 'coverage'],
  build: ['build'],
};

/** null: no package.json; 'invalid': present but not JSON. */
type Scripts = Record<string, string> | null | 'invalid';

async function readScripts(worktree: string): Promise<Scripts> {
  let text: string;
  try {
    text = await readFile(join(worktree, 'package.json'), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const scripts: unknown = (parsed as { scripts?: unknown }).scripts;
    if (typeof scripts !== 'object' || scripts === null) return {};
    return Object.fromEntries(
      Object.entries(scripts).filter((entry): entry is [string, string] => {
        return typeof entry[1] === 'string';
      }),
    );
  } catch {
    return 'invalid';
  }
}

/** One line per check, for the shells to print: what runs and where it came from, or why not. */
export function describeChecks(checks: readonly DetectedCheck[]): string[] {
  return checks.map((check) =>
    check.command === null
      ? `${check.name}: ${check.note}`
      : `${check.name}: ${check.command} (${check.note}${check.critical ? ', critical' : ''})`,
  );
}
