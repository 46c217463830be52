/**
 * What every part of the GitHub forge shares: the Octokit, the repository, the call policy and
 * the dry-run switch.
 */
import type { Octokit } from '@octokit/rest';
import type { Clock } from '../../engine/ports/clock.js';
import type { Logger } from '../../engine/ports/logger.js';
import { callWithPolicy, type PolicyOptions, type Sleep } from '../policy.js';

/**
 * Any Octokit with `request` and `paginate` (`@octokit/rest`, Probot's
 * `context.octokit`). Listings go through `paginate`, which follows GitHub's `Link` header.
 */
export type OctokitLike = Pick<Octokit, 'request' | 'paginate'>;

/**
 * Passed with every request: the retry plugin (Probot's Octokit has one) must not repeat calls on
 * its own; `callWithPolicy` decides what is safe to repeat.
 */
export const NO_PLUGIN_RETRY = { retries: 0 } as const;

/**
 * A listing's parameters for `octokit.paginate`, with the retry plugin off as for every request
 * (`paginate`'s route types have no `request.retries`, so it is added here, once).
 */
export function listing<T extends object>(params: T): T {
  return { ...params, request: NO_PLUGIN_RETRY };
}

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

/** The most items GitHub sends in one page of a listing: fewer pages, fewer requests. */
export const PAGE_SIZE = 100;

/** `status` of an error thrown by Octokit or our policy, or null. */
export function statusOf(error: unknown): number | null {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : null;
}
