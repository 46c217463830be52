import { join } from 'node:path';
import { pathExists } from '../path-exists.js';
import { readSmallFile } from '../small-file.js';

export type PackageManagerName = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface PackageManager {
  name: PackageManagerName;
  /** Why this one, for the check's note: the lockfile or the `packageManager` field. */
  source: string;
  /** The lockfile found for it, or null (then there is nothing to audit). */
  lockfile: string | null;
  /** Yarn only: classic (1.x) or Berry (2+), when it can be told; null otherwise. */
  yarnFlavour: 'classic' | 'berry' | null;
}

/** null: no package.json; 'invalid': present but not JSON. */
export type Scripts = Record<string, string> | null | 'invalid';

export interface JsProject {
  scripts: Scripts;
  manager: PackageManager;
}

/** npm first: it stays the default when several lockfiles lie around. */
const LOCKFILES: readonly [string, PackageManagerName][] = [
  ['package-lock.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
];

/**
 * The package.json scripts and the package manager to run them with: package.json's
 * `packageManager` field when it names one, else the first lockfile found, else npm.
 */
export async function readJsProject(worktree: string): Promise<JsProject> {
  const text = await readText(join(worktree, 'package.json'));
  const parsed = text === null ? null : parseJson(text);
  const scripts = text === null ? null : parsed === undefined ? 'invalid' : scriptsOf(parsed);
  const lockfiles: [string, PackageManagerName][] = [];
  for (const entry of LOCKFILES) {
    if (await pathExists(join(worktree, entry[0]))) lockfiles.push(entry);
  }
  const declared = declaredManager(parsed);
  const chosen = declared?.name ?? lockfiles[0]?.[1] ?? 'npm';
  const lockfile = lockfiles.find((entry) => entry[1] === chosen)?.[0] ?? null;
  const source =
    declared !== null ? `"packageManager" in package.json` : (lockfile ?? 'the default');
  const yarnFlavour = chosen === 'yarn' ? await yarnFlavourOf(worktree, declared, lockfile) : null;
  return { scripts, manager: { name: chosen, source, lockfile, yarnFlavour } };
}

/** The command that runs one package.json script. */
export function scriptCommand(manager: PackageManagerName, script: string): string {
  if (manager === 'npm') return script === 'test' ? 'npm test' : `npm run ${script}`;
  return `${manager} run ${script}`;
}

function declaredManager(parsed: unknown): { name: PackageManagerName; version: string } | null {
  if (typeof parsed !== 'object' || parsed === null) return null;
  const field: unknown = (parsed as { packageManager?: unknown }).packageManager;
  if (typeof field !== 'string') return null;
  const match = /^(npm|pnpm|yarn|bun)@(\S*)/.exec(field);
  if (match === null) return null;
  return { name: match[1] as PackageManagerName, version: match[2] ?? '' };
}

/**
 * Classic and Berry audit differently. The `packageManager` version tells, else the lockfile's
 * header (`# yarn lockfile v1` vs a `__metadata:` block), else a `.yarnrc.yml` means Berry.
 */
async function yarnFlavourOf(
  worktree: string,
  declared: { name: PackageManagerName; version: string } | null,
  lockfile: string | null,
): Promise<'classic' | 'berry' | null> {
  if (declared?.name === 'yarn' && /^\d/.test(declared.version)) {
    return declared.version.startsWith('1.') ? 'classic' : 'berry';
  }
  const lock = lockfile === null ? null : await readText(join(worktree, lockfile));
  if (lock !== null && /^# yarn lockfile v1/m.test(lock)) return 'classic';
  if (lock !== null && /^__metadata:/m.test(lock)) return 'berry';
  if (await pathExists(join(worktree, '.yarnrc.yml'))) return 'berry';
  return null;
}

function scriptsOf(parsed: unknown): Record<string, string> {
  if (typeof parsed !== 'object' || parsed === null) return {};
  const scripts: unknown = (parsed as { scripts?: unknown }).scripts;
  if (typeof scripts !== 'object' || scripts === null) return {};
  return Object.fromEntries(
    Object.entries(scripts).filter((entry): entry is [string, string] => {
      return typeof entry[1] === 'string';
    }),
  );
}

/** undefined when the text is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A file of the worktree (the agent's): never a FIFO or a device, at most 16 MB. */
export function readText(path: string): Promise<string | null> {
  return Promise.resolve(readSmallFile(path, 16 * 1024 * 1024)?.text ?? null);
}
