/**
 * The Octokit the app's server runs with. The forge already sends every call with the retry
 * plugin off and applies its own policy (only idempotent calls repeated, only after a 5xx or a
 * rate limit). This class is the safety net for any other call: the retry plugin never repeats a
 * 409 (a merge conflict or a stale file SHA does not go away by asking again), and never repeats
 * a write (POST, PUT, PATCH, DELETE) unless the call asks for it explicitly.
 *
 * The throttling plugin is off: it queued every write a second time, after the installation's
 * own write queue, in one first-come queue for the whole process (1 s apart, 3 s for comments),
 * which undid the queue's priorities and doubled the spacing. The forge's policy spaces writes
 * and waits out rate limits itself (forge/policy.ts).
 */
import { ProbotOctokit } from 'probot';

export const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 451];
const READS = new Set(['GET', 'HEAD']);

const noBlindRetries = (octokit: Pick<InstanceType<typeof ProbotOctokit>, 'hook'>) => {
  octokit.hook.before('request', (options) => {
    if (READS.has(options.method) || options.request?.retries !== undefined) return;
    options.request = { ...options.request, retries: 0 };
  });
};

/**
 * A function, not an object: Probot merges its own options over object defaults shallowly, which
 * would drop `doNotRetry`; this runs last and keeps any other retry settings given.
 */
export const AppOctokit = ProbotOctokit.plugin(noBlindRetries).defaults(
  (options: Record<string, unknown>) => ({
    ...options,
    retry: { ...(options.retry as object), doNotRetry: DO_NOT_RETRY },
    throttle: { ...(options.throttle as object), enabled: false },
  }),
);
