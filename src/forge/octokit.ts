/**
 * Builds the Octokit the Action and the CLI use: `@octokit/rest` (no retry or throttling plugin —
 * the forge's policy decides what may be repeated), pointed at GitHub.com, GitHub Enterprise
 * Server, or a local test server.
 */
import { Octokit } from '@octokit/rest';
import type { Logger } from '../engine/ports/logger.js';
import { silentLogger } from '../engine/ports/logger.js';

export const DEFAULT_API_URL = 'https://api.github.com';

/**
 * The REST base URL from the environment the shells run in: `GITHUB_API_URL` (set by Actions
 * runners, GHES included), else Probot's `GHE_HOST` + `GHE_PROTOCOL` (`https` unless given, with
 * GHES's `/api/v3` prefix), else api.github.com.
 */
export function resolveApiBaseUrl(env: Record<string, string | undefined>): string {
  const explicit = env.GITHUB_API_URL?.trim();
  if (explicit) return explicit.replace(/\/+$/, '');
  const host = env.GHE_HOST?.trim();
  if (host) return `${env.GHE_PROTOCOL?.trim() || 'https'}://${host.replace(/\/+$/, '')}/api/v3`;
  return DEFAULT_API_URL;
}

export interface OctokitOptions {
  token: string;
  baseUrl?: string;
  userAgent?: string;
  logger?: Logger;
}

export function createOctokit(options: OctokitOptions): Octokit {
  const logger = options.logger ?? silentLogger;
  return new Octokit({
    auth: options.token,
    baseUrl: (options.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, ''),
    userAgent: options.userAgent ?? 'parallel-executor',
    log: {
      debug: (message: string) => logger.debug('octokit', { message }),
      info: (message: string) => logger.debug('octokit', { message }),
      warn: (message: string) => logger.warn('octokit warning', { message }),
      error: (message: string) => logger.error('octokit error', { message }),
    },
  });
}
