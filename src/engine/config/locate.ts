import { access } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { ConfigurationError, UsageError } from '../errors.js';

/** Where a repository keeps its settings; both spellings are read, never both at once. */
export const CONFIG_FILES = ['.github/parallel-executor.yml', '.github/parallel-executor.yaml'];

export interface ConfigLocation {
  absolute: string;
  /** As errors name it: relative to the repository (or as the user typed it). */
  shown: string;
}

/**
 * The config file to read: `explicit` (a `--config FILE`, relative to `cwd`) when given, which
 * must exist; else `.github/parallel-executor.yml` or `.yaml`, whichever the repository has. Both
 * present is refused: silently preferring one would ignore what someone wrote in the other.
 */
export async function locateConfig(
  repoRoot: string,
  explicit: string | null = null,
  cwd: string = repoRoot,
): Promise<ConfigLocation | null> {
  if (explicit !== null) {
    const absolute = resolve(cwd, explicit);
    if (!(await exists(absolute))) {
      throw new UsageError(
        `--config ${explicit}: no such file`,
        'Give the path of a YAML settings file, relative to where you run the command.',
      );
    }
    return { absolute, shown: relative(cwd, absolute) || explicit };
  }
  const found: string[] = [];
  for (const file of CONFIG_FILES) if (await exists(join(repoRoot, file))) found.push(file);
  const file = pickConfigFile(found);
  return file === null ? null : { absolute: join(repoRoot, file), shown: file };
}

/**
 * Which of `CONFIG_FILES` a repository's settings are in, given those it has (on disk, or on a
 * branch the App reads through the API): one at most; both present is refused.
 */
export function pickConfigFile(present: readonly string[]): string | null {
  if (present.length > 1) {
    throw new ConfigurationError(
      present[1]!,
      null,
      `both ${present.join(' and ')} exist; only one is read`,
      `Keep one of them: merge the settings into ${present[0]} and delete ${present[1]}.`,
    );
  }
  return present[0] ?? null;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
