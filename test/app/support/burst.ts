/**
 * A burst on one installation: `prs` pull requests each get `/parallel-run` three times plus one
 * redelivery of the first command, all delivered at once. Shared by the ordering test and
 * `bench/app-requests.ts`, which reads the virtual times back.
 */
import {
  asPullRequestComment,
  retarget,
  webhookExample,
  withInstallation,
} from '../../support/webhook-payloads.js';
import { HEAD_REF, PLAN_PATH, type Harness } from './app-harness.js';
import { OWNER, REPO } from './fake-github.js';
import { planWithTasks } from './plans.js';

export interface BurstResult {
  /** Milliseconds from the burst to each execution's workflow dispatch, in dispatch order. */
  dispatchDelays: number[];
  /** Every write, in the order sent: its route kind and milliseconds after the burst. */
  writes: Array<{ kind: string; at: number }>;
  requests: number;
}

const FIRST_PR = 101;

export function burstShas(prs: number): string[] {
  return Array.from({ length: prs }, (_, i) => (i + 1).toString(16).padStart(40, 'b'));
}

/** Set the pull requests up with a plan of `tasks` tasks each, then deliver the burst. */
export async function runBurst(h: Harness, prs: number, tasks: number): Promise<BurstResult> {
  h.github.permissions.set('alice', 'write');
  const shas = burstShas(prs);
  for (let i = 0; i < prs; i++) {
    h.github.pulls.set(FIRST_PR + i, {
      number: FIRST_PR + i,
      state: 'open',
      title: `Plan ${i + 1}`,
      headRef: `${HEAD_REF}-${i + 1}`,
      headSha: shas[i]!,
      headRepo: `${OWNER}/${REPO}`,
      baseRef: 'main',
    });
    h.github.setFile(shas[i]!, PLAN_PATH, planWithTasks(tasks));
  }
  const deliveries: Array<{ id: string; payload: unknown }> = [];
  for (let i = 0; i < prs; i++) {
    for (let c = 0; c < 3; c++) {
      const payload = asPullRequestComment(
        retarget(webhookExample('issue_comment.created'), { owner: OWNER, repo: REPO }),
        { number: FIRST_PR + i, body: '/parallel-run', user: 'alice', userType: 'User' },
      );
      payload.repository.default_branch = 'main';
      payload.comment.id = 50_000 + i * 10 + c;
      deliveries.push({ id: `burst-${i}-${c}`, payload: withInstallation(payload, 42) });
    }
    // GitHub delivers the first command again (same delivery id).
    deliveries.push({ ...deliveries[deliveries.length - 3]! });
  }
  const start = h.time.now();
  const sentBefore = h.sent.length;
  const requestsBefore = h.gh.requests.length;
  await Promise.all(deliveries.map((d) => h.receive('issue_comment', d.payload, d.id)));
  await h.settle();
  const writes = h.sent
    .slice(sentBefore)
    .filter((r) => r.method !== 'GET' && r.method !== 'HEAD')
    .map((r) => ({ kind: writeKind(r.method, r.url), at: r.at - start }));
  return {
    dispatchDelays: writes.filter((w) => w.kind === 'dispatch').map((w) => w.at),
    writes,
    requests: h.gh.requests.length - requestsBefore,
  };
}

/** `url` is the route template the app sent (`/repos/{owner}/{repo}/check-runs`). */
function writeKind(method: string, url: string): string {
  if (url.endsWith('/dispatches')) return 'dispatch';
  if (url.endsWith('/reactions')) return 'reaction';
  if (/\/check-runs(\/\{check_run_id\})?$/.test(url))
    return method === 'POST' ? 'check-run' : 'check-run edit';
  if (url.endsWith('/issues/{issue_number}/comments')) return 'comment';
  if (url.endsWith('/issues/comments/{comment_id}')) return 'comment edit';
  return `${method} ${url}`;
}
