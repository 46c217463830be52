/**
 * The Probot application: thin handlers that parse the event, build the forge for the event's
 * repository, and call the execution logic. Everything that must survive a restart lives in
 * GitHub; what lives here (delivery ids, write pacing, pending dashboard edits) is a cache.
 */
import type { ApplicationFunction, Context, Probot } from 'probot';
import type { Clock } from '../engine/ports/clock.js';
import { systemClock } from '../engine/ports/clock.js';
import { realSleep, type Sleep } from '../forge/policy.js';
import { Coalescer, realTimers, type Timers } from './coalescer.js';
import { DeliveryCache } from './delivery-cache.js';
import { onCheckRun } from './handlers/check-run.js';
import { onIssueComment } from './handlers/issue-comment.js';
import { onPush } from './handlers/push.js';
import { onWorkflowJob, onWorkflowRunCompleted } from './handlers/workflow.js';
import { LiveExecutions } from './execution/live.js';
import { KeyedMutex } from './keyed-mutex.js';
import { pinoLogger } from './logger.js';
import { createScope, writeQueues, type AppDeps, type Scope } from './scope.js';

export interface AppOptions {
  clock?: Clock;
  sleep?: Sleep;
  timers?: Timers;
  random?: () => number;
  /** Pause between writes of one installation (default 1,000 ms, as GitHub asks). */
  writeSpacingMs?: number;
  /**
   * Work-starting writes (lock, dispatch) before reactions, check runs and dashboard edits
   * (default true; false is one first-come queue, the benchmark's baseline).
   */
  prioritiseWrites?: boolean;
  /** Gather dashboard updates this long before editing (default 3 s). */
  dashboardDelayMs?: number;
  /** Least time between two edits of one dashboard (default 60 s; the final edit does not wait). */
  dashboardMinIntervalMs?: number;
  /** A queued task's check run waits this long for its job to start (default 2 minutes). */
  checkRunQueuedDelayMs?: number;
  /** A running task's check-run write gathers later news this long (default 3 s). */
  checkRunDelayMs?: number;
  /** A job's end waits this long for the run's end before its check run shows it (default 15 min). */
  checkRunFinishedDelayMs?: number;
  /**
   * The app's login (`my-app[bot]`); only its comments are trusted to carry state. Default: asked
   * from GitHub once (`GET /app`; an event during which that fails is not handled); null trusts
   * markers from anyone (tests).
   */
  botLogin?: string | null;
  deliveryCacheSize?: number;
  /** A lock left `starting` longer than this is abandoned (default 15 minutes). */
  startingTimeoutMs?: number;
}

export interface ParallelExecutorApp {
  appFn: ApplicationFunction;
  /** Resolves when no dashboard edit is pending and no background work runs. */
  idle(): Promise<void>;
  readonly deps: AppDeps;
}

type AnyContext = Context<
  | 'issue_comment.created'
  | 'push'
  | 'workflow_job'
  | 'workflow_run.completed'
  | 'check_run.rerequested'
  | 'check_run.requested_action'
>;

export function createApp(options: AppOptions = {}): ParallelExecutorApp {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const timers = options.timers ?? realTimers;
  const background = new Set<Promise<unknown>>();
  let probot: Probot | null = null;
  let botLogin: Promise<string | null> | null =
    options.botLogin === undefined ? null : Promise.resolve(options.botLogin);

  const deps: AppDeps = {
    clock,
    sleep,
    timers,
    random: options.random ?? Math.random,
    writeSpacingMs: options.writeSpacingMs ?? 1000,
    coalescer: new Coalescer({
      delayMs: options.dashboardDelayMs ?? 3000,
      minIntervalMs: options.dashboardMinIntervalMs ?? 60_000,
      timers,
      clock,
      onError: (key, error) =>
        probot?.log.error({ err: error, execution: key }, 'dashboard edit failed'),
    }),
    checkWrites: new Coalescer({
      delayMs: options.checkRunDelayMs ?? 3000,
      minIntervalMs: 0,
      timers,
      clock,
      onError: (key, error) =>
        probot?.log.error({ err: error, check: key }, 'check run write failed'),
    }),
    checkRunQueuedDelayMs: options.checkRunQueuedDelayMs ?? 2 * 60_000,
    checkRunDelayMs: options.checkRunDelayMs ?? 3000,
    checkRunFinishedDelayMs: options.checkRunFinishedDelayMs ?? 15 * 60_000,
    live: new LiveExecutions(),
    deliveries: new DeliveryCache(options.deliveryCacheSize ?? 5000),
    foreignRuns: new DeliveryCache(2000),
    mutex: new KeyedMutex(),
    startingTimeoutMs: options.startingTimeoutMs ?? 15 * 60_000,
    queueFor: writeQueues({
      spacingMs: options.writeSpacingMs ?? 1000,
      clock,
      sleep,
      prioritised: options.prioritiseWrites ?? true,
    }),
    botLogin: () => (botLogin ??= lookUpBotLogin()),
    track(work) {
      background.add(work);
      void work.finally(() => background.delete(work)).catch(() => undefined);
    },
  };

  /**
   * The app's own login. A failure to learn it fails the event (its delivery can be sent again):
   * taking null then would trust every comment and check run as the app's own, for that event,
   * so anyone's dashboard with a running lock would hold the PR and a check run another app made
   * would speak for an execution. The next event asks again.
   */
  async function lookUpBotLogin(): Promise<string | null> {
    try {
      const octokit = await probot!.auth();
      const { data } = await octokit.request('GET /app');
      return data?.slug ? `${data.slug}[bot]` : null;
    } catch (error) {
      probot?.log.error(
        { err: error },
        'could not learn the app login (GET /app); the event is not handled, send it again',
      );
      botLogin = null;
      throw error;
    }
  }

  function handler<C extends AnyContext>(
    run: (context: C, scopeFor: () => Promise<Scope>) => Promise<void>,
  ): (context: C) => Promise<void> {
    return async (context) => {
      // A redelivery keeps its `X-GitHub-Delivery` id: handle each delivery once.
      if (!deps.deliveries.firstSight(context.id)) {
        context.log.info({ delivery: context.id }, 'duplicate delivery ignored');
        return;
      }
      const payload = context.payload as {
        repository?: { owner: { login: string }; name: string };
        installation?: { id: number };
      };
      if (!payload.repository) return;
      const repository = payload.repository;
      const scopeFor = () =>
        createScope({
          octokit: context.octokit,
          owner: repository.owner.login,
          repo: repository.name,
          installationId: payload.installation?.id ?? 0,
          log: pinoLogger(context.log),
          deps,
        });
      try {
        await run(context, scopeFor);
      } catch (error) {
        // Let a manual redelivery try again.
        deps.deliveries.forget(context.id);
        throw error;
      }
    };
  }

  const appFn: ApplicationFunction = (app) => {
    probot = app;
    app.on('issue_comment.created', handler(onIssueComment));
    app.on('push', handler(onPush));
    app.on('workflow_job', handler(onWorkflowJob));
    app.on('workflow_run.completed', handler(onWorkflowRunCompleted));
    app.on(['check_run.rerequested', 'check_run.requested_action'], handler(onCheckRun));
  };

  return {
    appFn,
    deps,
    async idle() {
      for (;;) {
        await deps.checkWrites.drain();
        await deps.coalescer.drain();
        if (background.size === 0 && deps.checkWrites.pending().length === 0) return;
        await Promise.allSettled([...background]);
      }
    },
  };
}
