/**
 * The GitHub forge: what the shells ask of a code host (`RepoForge`), on the REST API.
 * Writes are serial and spaced, non-idempotent calls are never repeated after a server error,
 * rate limits are waited out, bodies are capped below GitHub's limits, and a dry run sends no
 * write at all (it logs what it would send).
 */
import type { Clock } from '../engine/ports/clock.js';
import { systemClock } from '../engine/ports/clock.js';
import type { Logger } from '../engine/ports/logger.js';
import { silentLogger } from '../engine/ports/logger.js';
import { createCheckRunsApi } from './github/check-runs.js';
import { createCommentsApi } from './github/comments.js';
import { createContext, type OctokitLike } from './github/context.js';
import { createDispatchApi } from './github/dispatch.js';
import { createPullRequestsApi } from './github/pull-requests.js';
import { createRepositoryApi } from './github/repository.js';
import { createWriteQueue, realSleep, type Sleep, type WriteQueue } from './policy.js';
import type { RepoForge } from './types.js';

export type { OctokitLike } from './github/context.js';

export interface GitHubForgeOptions {
  octokit: OctokitLike;
  owner: string;
  repo: string;
  dryRun?: boolean;
  logger?: Logger;
  clock?: Clock;
  /** Injected so tests do not wait for real pauses and back-offs. */
  sleep?: Sleep;
  /** Share one queue between forges of the same installation so their writes stay spaced. */
  writeQueue?: WriteQueue;
  /** Where this forge's writes stand in the shared queue (`WritePriority`; default normal). */
  writePriority?: number;
  /** Pause between writes (default 1,000 ms, as GitHub asks). */
  writeSpacingMs?: number;
  /** Only comments by this login carry our markers (e.g. `my-app[bot]`, `github-actions[bot]`). */
  markerAuthor?: string;
  /** Retries of idempotent calls after a 5xx (default 2). */
  serverErrorRetries?: number;
  /** Rate-limit waits longer than this fail instead (default 10 minutes). */
  maxRateLimitWaitMs?: number;
}

export function createGitHubForge(options: GitHubForgeOptions): RepoForge {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const logger = options.logger ?? silentLogger;
  const queue =
    options.writeQueue ??
    createWriteQueue({ spacingMs: options.writeSpacingMs ?? 1000, clock, sleep });
  const ctx = createContext({
    octokit: options.octokit,
    owner: options.owner,
    repo: options.repo,
    dryRun: options.dryRun ?? false,
    policy: {
      queue,
      ...(options.writePriority === undefined ? {} : { priority: options.writePriority }),
      sleep,
      clock,
      logger,
      ...(options.serverErrorRetries === undefined
        ? {}
        : { serverErrorRetries: options.serverErrorRetries }),
      ...(options.maxRateLimitWaitMs === undefined
        ? {}
        : { maxRateLimitWaitMs: options.maxRateLimitWaitMs }),
    },
  });
  return {
    owner: options.owner,
    repo: options.repo,
    ...createCommentsApi(ctx, options.markerAuthor ?? null),
    ...createCheckRunsApi(ctx),
    ...createPullRequestsApi(ctx),
    ...createDispatchApi(ctx),
    ...createRepositoryApi(ctx),
  };
}
