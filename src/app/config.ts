/**
 * `.github/parallel-executor.yml` from the default branch (never from the PR: a PR must not be
 * able to change who may run things or which workflow runs). Missing file: the defaults.
 */
import { ConfigurationError } from '../engine/errors.js';
import { configFromText } from '../engine/config/load.js';
import { CONFIG_PATH, type Config } from '../engine/config/schema.js';
import type { RepoForge } from '../forge/types.js';

export type ConfigResult = { ok: true; config: Config } | { ok: false; error: ConfigurationError };

export async function loadRepoConfig(
  forge: RepoForge,
  defaultBranch: string,
): Promise<ConfigResult> {
  const file = await forge.getFile(CONFIG_PATH, defaultBranch);
  try {
    return { ok: true, config: configFromText(file?.content ?? null) };
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
