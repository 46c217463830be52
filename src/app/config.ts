/**
 * `.github/parallel-executor.yml` (or `.yaml`, never both) from the default branch (never from
 * the PR: a PR must not be able to change who may run things or which workflow runs). Missing
 * file: the defaults.
 */
import { posix } from 'node:path';
import { ConfigurationError } from '../engine/errors.js';
import { configFromText } from '../engine/config/load.js';
import { CONFIG_FILES, pickConfigFile } from '../engine/config/locate.js';
import type { Config } from '../engine/config/schema.js';
import type { RepoForge } from '../forge/types.js';
import type { AppApi } from './github/app-api.js';

const CONFIG_DIR = posix.dirname(CONFIG_FILES[0]!);

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: ConfigurationError };

export async function loadRepoConfig(
  scope: { forge: RepoForge; api: Pick<AppApi, 'listDirectory'> },
  defaultBranch: string,
): Promise<ConfigResult> {
  // One listing of `.github` says which of the files exist (most repositories have neither: one
  // request, not one per name); only those are read.
  const names = new Set((await scope.api.listDirectory(CONFIG_DIR, defaultBranch)) ?? []);
  const files = await Promise.all(
    CONFIG_FILES.filter((path) => names.has(posix.basename(path))).map(async (path) => ({
      path,
      file: await scope.forge.getFile(path, defaultBranch),
    })),
  );
  const present = files.filter((entry) => entry.file !== null);
  try {
    const chosen = pickConfigFile(present.map((entry) => entry.path));
    const found = present.find((entry) => entry.path === chosen);
    return {
      ok: true,
      config: configFromText(found?.file?.content ?? null, found?.path),
    };
  } catch (error) {
    if (error instanceof ConfigurationError) return { ok: false, error };
    throw error;
  }
}

/** The reply to a config that does not parse: what is wrong, where, and what to do. */
export function configErrorComment(error: ConfigurationError, defaultBranch: string): string {
  return [
    `⚠️ **parallel-executor could not read its configuration**, so nothing was started.`,
    '',
    `\`${error.file}\`${error.line === null ? '' : ` line ${error.line}`} on \`${defaultBranch}\`: ${error.message.replace(/^[^:]*:\d*:? ?/, '')}`,
    ...(error.hint ? ['', error.hint] : []),
  ].join('\n');
}
