/**
 * Real webhook payloads from `@octokit/webhooks-examples`, adjusted only where a field must point
 * at the test's repository, PR or user.
 *
 *     const payload = asPullRequestComment(
 *       retarget(webhookExample('issue_comment.created'), { owner: 'acme', repo: 'app' }),
 *       { number: 7, body: '/parallel-run all', user: 'alice' },
 *     );
 *     await probot.receive({ id: 'd-1', name: 'issue_comment', payload });
 */
import { createRequire } from 'node:module';
import type { Context } from 'probot';

/** Every event name Probot knows, with or without an action (`issue_comment`, `issue_comment.created`). */
export type EventKey = Context extends Context<infer E> ? E : never;
/** The typed payload Probot hands a handler for `event`. */
export type WebhookPayload<E extends EventKey> = Context<E>['payload'];

interface ExampleSet {
  name: string;
  actions: string[];
  examples: Array<Record<string, unknown>>;
}

let definitions: ExampleSet[] | null = null;

function load(): ExampleSet[] {
  if (definitions) return definitions;
  const require = createRequire(import.meta.url);
  definitions = require('@octokit/webhooks-examples') as ExampleSet[];
  return definitions;
}

/** Event names the examples cover (`issue_comment`, `workflow_job`, …). */
export function exampleEvents(): string[] {
  return load().map((d) => d.name);
}

/**
 * A deep copy of a real example for `event` (`name` or `name.action`); `index` picks among several
 * examples of the same event and action. Throws with the available actions when there is none.
 */
export function webhookExample<E extends EventKey>(event: E, index = 0): WebhookPayload<E> {
  const [name, action] = event.split('.') as [string, string | undefined];
  const set = load().find((d) => d.name === name);
  if (!set) throw new Error(`@octokit/webhooks-examples has no "${name}" event`);
  const matching = set.examples.filter((e) => action === undefined || e.action === action);
  const example = matching[index];
  if (!example) {
    const actions = [...new Set(set.examples.map((e) => String(e.action ?? '(none)')))].join(', ');
    throw new Error(
      `no example #${index} for ${event}; "${name}" examples have actions: ${actions}`,
    );
  }
  return structuredClone(example) as WebhookPayload<E>;
}

/** Points the payload at `owner/repo`: the repository object and every URL that names the old one. */
export function retarget<T>(payload: T, target: { owner: string; repo: string }): T {
  const repository = asRecord(asRecord(payload).repository);
  const oldFullName = String(repository.full_name ?? '');
  const newFullName = `${target.owner}/${target.repo}`;
  const next = oldFullName
    ? replaceInStrings(payload, `/${oldFullName}`, `/${newFullName}`)
    : payload;
  const nextRepository = asRecord(asRecord(next).repository);
  nextRepository.full_name = newFullName;
  nextRepository.name = target.repo;
  const owner = asRecord(nextRepository.owner);
  owner.login = target.owner;
  return next;
}

/**
 * Makes an `issue_comment` payload a comment on pull request `number` (the examples are all on
 * plain issues): sets `issue.number`, `issue.pull_request` and the URLs; optionally the comment's
 * body and author (who is also the sender).
 */
export function asPullRequestComment<T>(
  payload: T,
  options: { number: number; body?: string; user?: string; userType?: 'User' | 'Bot' },
): T {
  const root = asRecord(payload);
  const issue = asRecord(root.issue);
  const repository = asRecord(root.repository);
  const fullName = String(repository.full_name);
  const oldNumber = Number(issue.number);
  const api = `https://api.github.com/repos/${fullName}`;
  const web = `https://github.com/${fullName}`;
  const next = asRecord(
    replaceInStrings(
      root,
      `/${fullName}/issues/${oldNumber}`,
      `/${fullName}/issues/${options.number}`,
    ),
  );
  const nextIssue = asRecord(next.issue);
  nextIssue.number = options.number;
  nextIssue.html_url = `${web}/pull/${options.number}`;
  nextIssue.pull_request = {
    url: `${api}/pulls/${options.number}`,
    html_url: `${web}/pull/${options.number}`,
    diff_url: `${web}/pull/${options.number}.diff`,
    patch_url: `${web}/pull/${options.number}.patch`,
    merged_at: null,
  };
  const comment = asRecord(next.comment);
  if (options.body !== undefined) comment.body = options.body;
  if (options.user !== undefined || options.userType !== undefined) {
    const login = options.user ?? String(asRecord(comment.user).login);
    const user = { ...asRecord(comment.user), login, type: options.userType ?? 'User' };
    comment.user = user;
    next.sender = { ...asRecord(next.sender), login, type: user.type };
  }
  return next as T;
}

/** Adds the `installation` an App-authenticated Probot needs (the examples mostly lack it). */
export function withInstallation<T>(payload: T, id = 1): T {
  const next = structuredClone(payload);
  asRecord(next).installation = { id, node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==${id}` };
  return next;
}

function replaceInStrings<T>(value: T, from: string, to: string): T {
  if (typeof value === 'string') return value.split(from).join(to) as T;
  if (Array.isArray(value))
    return value.map((item: unknown) => replaceInStrings(item, from, to)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        replaceInStrings(v, from, to),
      ]),
    ) as T;
  }
  return value;
}

function asRecord(value: unknown): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw new Error(
    `webhook payload: expected an object, got ${JSON.stringify(value)?.slice(0, 80)}`,
  );
}
