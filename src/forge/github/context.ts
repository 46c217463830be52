/**
 * What every part of the GitHub forge shares: the Octokit, the repository, the call policy and
 * the dry-run switch.
 */
import type { Octokit } from '@octokit/rest';
import type { Clock } from '../../engine/ports/clock.js';
import type { Logger } from '../../engine/ports/logger.js';
import { callWithPolicy, type PolicyOptions, type Sleep } from '../policy.js';

/** Any Octokit with `request` (`@octokit/rest`, `@actions/github`'s, Probot's `context.octokit`). */
export type OctokitLike = Pick<Octokit, 'request'>;

/**
 * Passed with every request: the retry plugin (Probot's Octokit has one) must not repeat calls on
 * its own; `callWithPolicy` decides what is safe to repeat.
 */
export const NO_PLUGIN_RETRY = { retries: 0 } as const;

export interface GitHubContext {
  octokit: OctokitLike;
  owner: string;
  repo: string;
  dryRun: boolean;
  logger: Logger;
  clock: Clock;
  sleep: Sleep;
  read<T>(route: string, send: () => Promise<T>): Promise<T>;
  /** A mutating call; `idempotent` when repeating it cannot duplicate anything (edits, PUTs of the same state). */
  write<T>(route: string, idempotent: boolean, send: () => Promise<T>): Promise<T>;
  /** Dry run: log what would be sent. */
  wouldSend(route: string, body: Record<string, unknown>): void;
}

export function createContext(options: {
  octokit: OctokitLike;
  owner: string;
  repo: string;
  dryRun: boolean;
  policy: PolicyOptions;
}): GitHubContext {
  const { policy } = options;
  const methodOf = (route: string) => route.split(' ')[0] ?? 'GET';
  return {
    octokit: options.octokit,
    owner: options.owner,
    repo: options.repo,
    dryRun: options.dryRun,
    logger: policy.logger,
    clock: policy.clock,
    sleep: policy.sleep,
    read: (route, send) =>
      callWithPolicy(
        { method: methodOf(route), route, write: false, idempotent: true },
        send,
        policy,
      ),
    write: (route, idempotent, send) =>
      callWithPolicy({ method: methodOf(route), route, write: true, idempotent }, send, policy),
    wouldSend(route, body) {
      policy.logger.info('dry run: not sending', {
        route,
        repository: `${options.owner}/${options.repo}`,
        body,
      });
    },
  };
}

/** The most items GitHub sends in one page of a listing. */
export const PAGE_SIZE = 100;

/**
 * Every item of a paginated listing, asking for page 1, 2, … (of PAGE_SIZE items) until a short
 * page, or until `total` items were read when GitHub says how many there are (so a full last page
 * costs no extra empty request).
 */
export async function readAllPages<T>(
  fetchPage: (page: number) => Promise<{ items: T[]; total?: number }>,
): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await fetchPage(page);
    all.push(...items);
    if (items.length < PAGE_SIZE || (total !== undefined && all.length >= total)) return all;
  }
}

/** `status` of an error thrown by Octokit or our policy, or null. */
export function statusOf(error: unknown): number | null {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : null;
}
