/**
 * What a handler works with: the long-lived parts of the app (clock, timers, caches, the write
 * queue of each installation) and, per event, the forge and API bound to the event's repository.
 */
import type { Clock } from '../engine/ports/clock.js';
import type { Logger } from '../engine/ports/logger.js';
import { createGitHubForge, type OctokitLike } from '../forge/github.js';
import { createContext } from '../forge/github/context.js';
import { createWriteQueue, WritePriority, type Sleep, type WriteQueue } from '../forge/policy.js';
import type { RepoForge } from '../forge/types.js';
import type { Coalescer, Timers } from './coalescer.js';
import type { DeliveryCache } from './delivery-cache.js';
import { createAppApi, type AppApi } from './github/app-api.js';
import type { LiveExecutions } from './execution/live.js';
import type { KeyedMutex } from './keyed-mutex.js';

export interface AppDeps {
  clock: Clock;
  sleep: Sleep;
  timers: Timers;
  random: () => number;
  /** Pause between writes of one installation (GitHub asks for ≥ 1 s). */
  writeSpacingMs: number;
  /** Dashboard edits, one per execution at a time. */
  coalescer: Coalescer;
  /** Task check-run writes, one per task at a time (`execution/task-checks.ts`). */
  checkWrites: Coalescer;
  /** How long a queued task's check run waits for its job to start before it is created queued. */
  checkRunQueuedDelayMs: number;
  /** How long a running task's check-run write gathers later news. */
  checkRunDelayMs: number;
  /** How long a job's own end waits for the run's end, whose final word replaces it. */
  checkRunFinishedDelayMs: number;
  /** Executions as this process knows them, ahead of GitHub while writes trail. */
  live: LiveExecutions;
  deliveries: DeliveryCache;
  /** Workflow runs found not to be ours: their later events cost no API call. */
  foreignRuns: DeliveryCache;
  mutex: KeyedMutex;
  /** The app's own login (`my-app[bot]`): only its comments carry state we trust. */
  botLogin(): Promise<string | null>;
  /** A lock with no workflow run after this long is abandoned (the app died while starting). */
  startingTimeoutMs: number;
  queueFor(installationId: number): WriteQueue;
  /** Work started by a handler that outlives it (finalising after a cancel); `idle()` waits for it. */
  track(work: Promise<unknown>): void;
}

export interface Scope {
  owner: string;
  repo: string;
  installationId: number;
  /** Writes at normal priority: reactions, replies, check-run details, dashboard edits. */
  forge: RepoForge;
  /** The same forge with its writes ahead of normal ones (`WritePriority`): what starts work. */
  forgeAt(priority: number): RepoForge;
  api: AppApi;
  log: Logger;
  deps: AppDeps;
  botLogin: string | null;
}

export async function createScope(options: {
  octokit: OctokitLike;
  owner: string;
  repo: string;
  installationId: number;
  log: Logger;
  deps: AppDeps;
}): Promise<Scope> {
  const { deps } = options;
  const queue = deps.queueFor(options.installationId);
  const botLogin = await deps.botLogin();
  const forgeWith = (writePriority: number) =>
    createGitHubForge({
      octokit: options.octokit,
      owner: options.owner,
      repo: options.repo,
      logger: options.log,
      clock: deps.clock,
      sleep: deps.sleep,
      writeQueue: queue,
      writePriority,
      ...(botLogin === null ? {} : { markerAuthor: botLogin }),
    });
  const forges = new Map<number, RepoForge>();
  const forgeAt = (priority: number) => {
    let forge = forges.get(priority);
    if (!forge) forges.set(priority, (forge = forgeWith(priority)));
    return forge;
  };
  const forge = forgeAt(WritePriority.normal);
  const api = createAppApi(
    createContext({
      octokit: options.octokit,
      owner: options.owner,
      repo: options.repo,
      dryRun: false,
      policy: { queue, sleep: deps.sleep, clock: deps.clock, logger: options.log },
    }),
  );
  return {
    owner: options.owner,
    repo: options.repo,
    installationId: options.installationId,
    forge,
    forgeAt,
    api,
    log: options.log,
    deps,
    botLogin,
  };
}

export function writeQueues(options: {
  spacingMs: number;
  clock: Clock;
  sleep: Sleep;
  prioritised: boolean;
}): (installationId: number) => WriteQueue {
  const queues = new Map<number, WriteQueue>();
  return (installationId) => {
    let queue = queues.get(installationId);
    if (!queue) {
      queue = createWriteQueue(options);
      queues.set(installationId, queue);
    }
    return queue;
  };
}
