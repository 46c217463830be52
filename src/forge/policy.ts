/**
 * How GitHub calls are sent: writes one at a time with a pause between them (GitHub asks for
 * serial content-creating requests, ≥1 s apart), rate-limit answers waited out, and server errors
 * retried only where repeating the call cannot duplicate anything.
 */
import type { Clock } from '../engine/ports/clock.js';
import { systemClock } from '../engine/ports/clock.js';
import type { Logger } from '../engine/ports/logger.js';
import { GitHubApiError, hintForStatus } from './errors.js';

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Serialises writes; share one between forges that talk to the same installation. A write with a
 * higher `priority` goes before lower ones still waiting (equal ones keep their order), so the
 * writes that start work are not stuck behind reactions and dashboard edits; the spacing between
 * any two writes stays the same.
 */
export interface WriteQueue {
  run<T>(send: () => Promise<T>, priority?: number): Promise<T>;
}

/** How urgent a write is: work-starting writes first, details that can trail last. */
export const WritePriority = {
  /** Reactions, check-run details, dashboard edits, replies. */
  normal: 0,
  /** The summary check run that carries the execution's record (the app knows it meanwhile). */
  record: 1,
  /** The dashboard comment that locks the PR for a new execution. */
  lock: 2,
  /** The workflow dispatch itself. */
  dispatch: 3,
} as const;

export function createWriteQueue(
  options: {
    spacingMs?: number;
    clock?: Clock;
    sleep?: Sleep;
    /** false: first come, first served, whatever the priority (a benchmark's baseline). */
    prioritised?: boolean;
  } = {},
): WriteQueue {
  const prioritised = options.prioritised ?? true;
  const spacingMs = options.spacingMs ?? 1000;
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? realSleep;
  const waiting: Array<{ priority: number; start: (done: () => void) => void }> = [];
  let busy = false;
  let lastEnd = Number.NEGATIVE_INFINITY;

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      while (waiting.length > 0) {
        const wait = lastEnd + spacingMs - clock.now().getTime();
        if (wait > 0) await sleep(wait);
        // Picked after the pause, so a write that became due meanwhile can still go first.
        let best = 0;
        for (let i = 1; prioritised && i < waiting.length; i++) {
          if (waiting[i]!.priority > waiting[best]!.priority) best = i;
        }
        const [job] = waiting.splice(best, 1);
        await new Promise<void>((done) => job!.start(done));
        lastEnd = clock.now().getTime();
      }
    } finally {
      busy = false;
    }
  }

  return {
    run<T>(send: () => Promise<T>, priority = WritePriority.normal): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({
          priority,
          start: (done) => void send().then(resolve, reject).finally(done),
        });
        void pump();
      });
    },
  };
}

export interface CallDescription {
  method: string;
  /** The route template, for messages and logs: `POST /repos/{owner}/{repo}/check-runs`. */
  route: string;
  /** Mutating (POST/PATCH/PUT/DELETE): goes through the write queue. */
  write: boolean;
  /** Sending it twice has the same effect as once: may be retried after a 5xx or a network error. */
  idempotent: boolean;
}

export interface PolicyOptions {
  queue: WriteQueue;
  /** Where this context's writes stand in the queue (default `WritePriority.normal`). */
  priority?: number;
  sleep: Sleep;
  clock: Clock;
  logger: Logger;
  /** Retries of idempotent calls after a 5xx or network error (default 2). */
  serverErrorRetries?: number;
  /** Retries after a rate-limit answer (default 3). */
  rateLimitRetries?: number;
  /** Longer waits than this are not waited out; the call fails with the reset time (default 10 min). */
  maxRateLimitWaitMs?: number;
}

interface ErrorLike {
  status?: unknown;
  message?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export async function callWithPolicy<T>(
  call: CallDescription,
  send: () => Promise<T>,
  options: PolicyOptions,
): Promise<T> {
  const attempt = () => sendWithRetries(call, send, options);
  return call.write ? options.queue.run(attempt, options.priority) : attempt();
}

async function sendWithRetries<T>(
  call: CallDescription,
  send: () => Promise<T>,
  options: PolicyOptions,
): Promise<T> {
  const serverErrorRetries = options.serverErrorRetries ?? 2;
  const rateLimitRetries = options.rateLimitRetries ?? 3;
  const maxWait = options.maxRateLimitWaitMs ?? 600_000;
  let serverErrors = 0;
  let rateLimits = 0;
  for (;;) {
    try {
      return await send();
    } catch (error) {
      const e = (error ?? {}) as ErrorLike;
      const status = typeof e.status === 'number' ? e.status : null;
      // A rate-limited request was refused before it did anything, so even a POST may be repeated.
      const wait = rateLimitWait(e, status, options.clock.now().getTime());
      if (wait !== null && rateLimits < rateLimitRetries && wait <= maxWait) {
        rateLimits++;
        options.logger.warn('GitHub API rate limit: waiting before retrying', {
          route: call.route,
          waitMs: wait,
        });
        await options.sleep(wait);
        continue;
      }
      const transient = status === null || status >= 500;
      if (transient && call.idempotent && serverErrors < serverErrorRetries) {
        const backoff = 1000 * 2 ** serverErrors;
        serverErrors++;
        options.logger.warn('GitHub API server error: retrying an idempotent call', {
          route: call.route,
          status,
          backoffMs: backoff,
        });
        await options.sleep(backoff);
        continue;
      }
      throw toApiError(call, e, status, wait, error);
    }
  }
}

function header(e: ErrorLike, name: string): string | null {
  const value = e.response?.headers?.[name];
  return value === undefined ? null : String(value);
}

/** Milliseconds to wait before retrying, or null when the error is not a rate limit. */
export function rateLimitWait(e: ErrorLike, status: number | null, now: number): number | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = header(e, 'retry-after');
  if (retryAfter !== null && /^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const remaining = header(e, 'x-ratelimit-remaining');
  const reset = header(e, 'x-ratelimit-reset');
  if (remaining === '0' && reset !== null && /^\d+$/.test(reset)) {
    return Math.max(0, Number(reset) * 1000 - now) + 1000;
  }
  // GitHub's advice for a secondary limit without retry-after: wait at least a minute.
  if (status === 429 || /secondary rate limit/i.test(String(e.message ?? ''))) return 60_000;
  return null;
}

function toApiError(
  call: CallDescription,
  e: ErrorLike,
  status: number | null,
  rateWait: number | null,
  cause: unknown,
): GitHubApiError {
  const details = {
    method: call.method,
    route: call.route,
    status,
    requestId: header(e, 'x-github-request-id'),
  };
  const message = String(e.message ?? cause);
  if (rateWait !== null) {
    const hint = `Rate limited; GitHub asked to wait ${Math.ceil(rateWait / 1000)} s. Try again later or use a token with a higher limit (a GitHub App installation token).`;
    return new GitHubApiError(details, message, hint, { cause });
  }
  return new GitHubApiError(details, message, hintForStatus(status, call.idempotent), { cause });
}
