/**
 * The Octokit the app's server runs with. The forge already sends every call with the retry
 * plugin off and applies its own policy (only idempotent calls repeated, only after a 5xx or a
 * rate limit); this class also keeps the plugin from repeating a 409 — a merge conflict or a stale
 * file SHA does not go away by asking again — for any call that does not opt out itself.
 */
import { ProbotOctokit } from 'probot';

export const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 451];

export const AppOctokit = ProbotOctokit.defaults({
  retry: { doNotRetry: DO_NOT_RETRY },
});
