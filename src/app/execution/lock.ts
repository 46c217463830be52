/**
 * One execution per PR, with the lock kept in GitHub so a restarted app, or two instances, agree:
 * a running execution is a dashboard comment (by the app) whose lock says `starting`/`running`.
 * Starting one posts a new dashboard (the claim), then reads the PR's dashboards again: of two
 * claims made at once, the older comment (lower id) wins and the other turns into a reply.
 */
import { statusOf } from '../../forge/github/context.js';
import { WritePriority } from '../../forge/policy.js';
import type { Scope } from '../scope.js';
import { resolveExecution } from './resolve.js';
import { busyText, DASHBOARD_MARKER, readLock, type DashboardLock } from './dashboard.js';

export interface LockedExecution {
  commentId: number;
  url: string;
  lock: DashboardLock;
}

export interface ActiveCheck {
  active: LockedExecution | null;
  /** Dashboards still marked running whose workflow run has ended: their end was missed. */
  ended: LockedExecution[];
  /** Ids of dashboards found abandoned (skipped by the claim's second look too). */
  ignored: Set<number>;
}

async function lockedExecutions(scope: Scope, pr: number): Promise<LockedExecution[]> {
  const comments = await scope.api.listMarkedComments(pr, DASHBOARD_MARKER, scope.botLogin);
  const found: LockedExecution[] = [];
  for (const comment of comments) {
    const lock = readLock(comment.body);
    if (lock && lock.status !== 'finished')
      found.push({ commentId: comment.id, url: comment.url, lock });
  }
  return found;
}

/** The execution running on `pr`, if any, telling apart those that only look like it. */
export async function findActiveExecution(scope: Scope, pr: number): Promise<ActiveCheck> {
  const result: ActiveCheck = { active: null, ended: [], ignored: new Set() };
  for (const found of await lockedExecutions(scope, pr)) {
    const candidate = await withKnownRun(scope, found);
    const state = await liveness(scope, candidate.lock);
    if (state === 'alive') {
      result.active ??= candidate;
      continue;
    }
    result.ignored.add(candidate.commentId);
    if (state === 'ended') result.ended.push(candidate);
  }
  return result;
}

/**
 * The dashboard learns the run with its first redraw, which may trail the dispatch: a lock still
 * `starting` takes the run from the record (this process's copy, else the summary check run).
 */
async function withKnownRun(scope: Scope, found: LockedExecution): Promise<LockedExecution> {
  if (found.lock.run !== null) return found;
  const execution = await resolveExecution(scope, found.lock.sha, found.lock.execution, {
    cached: true,
  });
  const run = execution?.record.run ?? null;
  return run === null ? found : { ...found, lock: { ...found.lock, run } };
}

async function liveness(
  scope: Scope,
  lock: DashboardLock,
): Promise<'alive' | 'ended' | 'abandoned'> {
  if (lock.run === null) {
    const age = scope.deps.clock.now().getTime() - Date.parse(lock.startedAt);
    return age > scope.deps.startingTimeoutMs ? 'abandoned' : 'alive';
  }
  try {
    const run = await scope.api.getRun(lock.run);
    return run.status === 'completed' ? 'ended' : 'alive';
  } catch (error) {
    // The run was deleted: nothing will ever report for it.
    if (statusOf(error) === 404) return 'abandoned';
    throw error;
  }
}

export type ClaimResult =
  { won: true; commentId: number; url: string } | { won: false; holder: LockedExecution };

/** Post the dashboard claiming `pr`; if an older claim exists, the new comment says so instead. */
export async function claimExecution(
  scope: Scope,
  pr: number,
  body: string,
  ignored: ReadonlySet<number>,
): Promise<ClaimResult> {
  const mine = await scope.forgeAt(WritePriority.lock).createComment(pr, body);
  const now = scope.deps.clock.now().getTime();
  const older = (await lockedExecutions(scope, pr)).filter(
    (other) =>
      other.commentId < mine.id &&
      !ignored.has(other.commentId) &&
      !(
        other.lock.run === null &&
        now - Date.parse(other.lock.startedAt) > scope.deps.startingTimeoutMs
      ),
  );
  const holder = older[0];
  if (!holder) return { won: true, commentId: mine.id, url: mine.url };
  await scope.api.updateComment(mine.id, busyText(holder));
  return { won: false, holder };
}
