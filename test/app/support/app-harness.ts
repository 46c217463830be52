/**
 * Drives the real app the way GitHub does: `probot.receive()` with real payloads from
 * `@octokit/webhooks-examples`, retargeted at the test repository, and the GitHub API served by
 * the OpenAPI-checked fake (`fake-github.ts`). Time is virtual.
 */
import { readFileSync } from 'node:fs';
import { Probot, ProbotOctokit } from 'probot';
import { createApp, type AppOptions, type ParallelExecutorApp } from '../../../src/app/app.js';
import { githubApi, type GitHubApiMock } from '../../support/github-api.js';
import {
  asPullRequestComment,
  retarget,
  webhookExample,
  withInstallation,
} from '../../support/webhook-payloads.js';
import { BOT, fakeGitHub, OWNER, REPO, type FakeGitHub } from './fake-github.js';
import { virtualTime, type VirtualTime } from './virtual-time.js';

export const HEAD_SHA = 'a'.repeat(40);
export const HEAD_REF = 'feature/plan';
export const PR = 7;
export const PLAN_PATH = 'MULTI_AGENT_PLAN.md';
export const WORKFLOW_PATH = '.github/workflows/parallel-run.yml';
/** The repository's own reusable workflow: the app's tests dispatch against its real inputs. */
export const WORKFLOW_TEXT = readFileSync(
  new URL(`../../../${WORKFLOW_PATH}`, import.meta.url),
  'utf8',
);

export interface Harness {
  gh: GitHubApiMock;
  github: FakeGitHub;
  probot: Probot;
  app: ParallelExecutorApp;
  time: VirtualTime;
  /** Every request the app sent, with the virtual time it was sent at. */
  sent: SentRequest[];
  /** Another instance of the app (a restart, or a second replica) on the same GitHub. */
  anotherInstance(): Promise<{ app: ParallelExecutorApp; receive: Harness['receive'] }>;
  receive(name: string, payload: unknown, id?: string): Promise<void>;
  /** Deliver and wait until pending dashboard edits are written. */
  settle(): Promise<void>;
  close(): void;
}

let deliveries = 0;

/** A request as the app sent it, stamped with virtual time (write pacing runs on it). */
export interface SentRequest {
  method: string;
  url: string;
  at: number;
}

/**
 * Probot's Octokit without the retry and throttling plugins' own waiting (the forge's policy runs
 * on virtual time). A function, not an object: Probot merges its throttle options over object
 * defaults (a shallow merge that drops `enabled: false`), so only a function applied last sticks.
 */
export function testOctokit(
  sent?: SentRequest[],
  time?: VirtualTime,
  inFlight?: { count: number },
): typeof ProbotOctokit {
  const recording = ProbotOctokit.plugin((octokit) => {
    octokit.hook.before('request', (options) => {
      sent?.push({ method: options.method, url: options.url, at: time?.now() ?? Date.now() });
    });
    octokit.hook.wrap('request', async (request, options) => {
      if (inFlight) inFlight.count++;
      try {
        return await request(options);
      } finally {
        if (inFlight) inFlight.count--;
      }
    });
  });
  return recording.defaults((options: Record<string, unknown>) => ({
    ...options,
    retry: { enabled: false },
    throttle: { ...(options.throttle as object), enabled: false },
  }));
}

export async function startHarness(
  options: AppOptions & { baseUrl?: string } = {},
): Promise<Harness> {
  const gh = githubApi(options.baseUrl ? { baseUrl: options.baseUrl } : {});
  // A request takes a moment of real time: virtual time waits for the ones in flight.
  const inFlight = { count: 0 };
  const time = virtualTime(undefined, async () => {
    for (let turns = 0; turns < 3 || (inFlight.count > 0 && turns < 10_000); turns++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  const github = fakeGitHub(gh, { now: () => time.clock.now() });
  const sent: SentRequest[] = [];
  let seed = 1;
  const instance = async () => {
    const app = createApp({
      clock: time.clock,
      sleep: time.sleep,
      timers: time.timers,
      botLogin: BOT,
      random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
      ...options,
    });
    const probot = new Probot({
      githubToken: 'test',
      baseUrl: gh.baseUrl,
      logLevel: 'fatal',
      Octokit: testOctokit(sent, time, inFlight),
    });
    await probot.load(app.appFn);
    const receive: Harness['receive'] = async (name, payload, id) => {
      await probot.receive({ id: id ?? `delivery-${++deliveries}`, name, payload } as never);
    };
    return { app, probot, receive };
  };
  const { app, probot, receive } = await instance();
  github.setFile('main', WORKFLOW_PATH, WORKFLOW_TEXT);
  github.pulls.set(PR, {
    number: PR,
    state: 'open',
    title: 'Add the plan',
    headRef: HEAD_REF,
    headSha: HEAD_SHA,
    headRepo: `${OWNER}/${REPO}`,
    baseRef: 'main',
  });
  return {
    gh,
    github,
    probot,
    app,
    time,
    sent,
    anotherInstance: instance,
    receive,
    settle: () => app.idle(),
    close: () => gh.close(),
  };
}

/** A real `issue_comment.created` example, made a comment on PR 7 of acme/widgets. */
export function commentPayload(body: string, user = 'alice', userType: 'User' | 'Bot' = 'User') {
  const payload = asPullRequestComment(
    retarget(webhookExample('issue_comment.created'), { owner: OWNER, repo: REPO }),
    { number: PR, body, user, userType },
  );
  payload.repository.default_branch = 'main';
  return withInstallation(payload, 42);
}

export function jobPayload(
  action: 'queued' | 'in_progress' | 'completed',
  job: {
    runId: number;
    name: string;
    conclusion?: string | null;
    startedAt?: string;
    completedAt?: string;
    id?: number;
    sha?: string;
  },
) {
  const index = action === 'queued' ? 0 : 0;
  const payload = retarget(webhookExample(`workflow_job.${action}`, index), {
    owner: OWNER,
    repo: REPO,
  });
  Object.assign(payload.workflow_job, {
    id: job.id ?? job.runId * 10 + job.name.length,
    run_id: job.runId,
    head_sha: job.sha ?? HEAD_SHA,
    head_branch: HEAD_REF,
    name: job.name,
    status: action,
    conclusion: action === 'completed' ? (job.conclusion ?? 'success') : null,
    started_at: job.startedAt ?? '2026-11-05T10:01:00Z',
    completed_at: action === 'completed' ? (job.completedAt ?? '2026-11-05T10:21:00Z') : null,
    html_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${job.runId}/job/${job.id ?? 1}`,
  });
  return withInstallation(payload, 42);
}

export function runCompletedPayload(run: {
  id: number;
  conclusion: string;
  displayTitle: string;
  sha?: string;
  /** Default `workflow_dispatch` from this repository, as the app's own runs. */
  event?: string;
  headRepository?: string;
}) {
  const payload = retarget(webhookExample('workflow_run.completed'), { owner: OWNER, repo: REPO });
  payload.repository.default_branch = 'main';
  Object.assign(payload.workflow_run, {
    id: run.id,
    head_sha: run.sha ?? HEAD_SHA,
    head_branch: HEAD_REF,
    conclusion: run.conclusion,
    status: 'completed',
    display_title: run.displayTitle,
    html_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.id}`,
    path: '.github/workflows/parallel-run.yml',
    event: run.event ?? 'workflow_dispatch',
    head_repository: {
      ...payload.workflow_run.head_repository,
      full_name: run.headRepository ?? `${OWNER}/${REPO}`,
    },
  });
  return withInstallation(payload, 42);
}

export function checkRunPayload(
  action: 'rerequested' | 'requested_action',
  check: { id: number; externalId: string; sha?: string; identifier?: string; sender?: string },
) {
  const payload = retarget(webhookExample(`check_run.${action}`), { owner: OWNER, repo: REPO });
  payload.repository.default_branch = 'main';
  Object.assign(payload.check_run, {
    id: check.id,
    external_id: check.externalId,
    head_sha: check.sha ?? HEAD_SHA,
  });
  if (action === 'requested_action') {
    (payload as { requested_action?: { identifier: string } }).requested_action = {
      identifier: check.identifier ?? 'retry-failed',
    };
  }
  payload.sender = { ...payload.sender, login: check.sender ?? 'alice' };
  return withInstallation(payload, 42);
}

export function pushPayload(push: {
  branch: string;
  after: string;
  modified: string[];
  before?: string;
}) {
  const payload = retarget(webhookExample('push', 4), { owner: OWNER, repo: REPO });
  payload.ref = `refs/heads/${push.branch}`;
  payload.after = push.after;
  if (push.before !== undefined) payload.before = push.before;
  payload.repository.default_branch = 'main';
  const commit = payload.commits[0]!;
  commit.added = [];
  commit.modified = push.modified;
  commit.removed = [];
  return withInstallation(payload, 42);
}
