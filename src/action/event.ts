/**
 * The event that started the workflow (`GITHUB_EVENT_PATH`), read with zod and reduced to what the
 * action uses. Under `workflow_call` the called workflow sees the caller's event.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UsageError } from '../engine/errors.js';

const User = z.object({ login: z.string(), type: z.string().optional() });

const IssueCommentEvent = z.object({
  action: z.string(),
  comment: z.object({ id: z.number(), body: z.string().nullable(), user: User }),
  issue: z.object({
    number: z.number(),
    pull_request: z.object({ url: z.string().optional() }).nullable().optional(),
  }),
});

export type TriggerEvent =
  | {
      kind: 'comment';
      /** `created`; `edited` and `deleted` start nothing (the workflow may listen to every type). */
      action: string;
      commentId: number;
      body: string;
      author: string;
      authorIsBot: boolean;
      issueNumber: number;
      onPullRequest: boolean;
    }
  | {
      kind: 'pull_request';
      /** `pull_request` or `pull_request_target`. */
      name: string;
      number: number;
      /** Who caused the event (opened, pushed to, labelled the PR). */
      sender: string | null;
      /** The PR's head is in another repository (or one that was deleted). */
      fromFork: boolean;
    }
  | { kind: 'push'; ref: string; before: string; after: string }
  | {
      kind: 'other';
      name: string | null;
      /** The payload's `sender`, when it has one: who caused the event. */
      sender: string | null;
    };

const Repo = z.object({ full_name: z.string() }).nullable().optional();
const PullRequestEvent = z.object({
  pull_request: z.object({
    number: z.number(),
    head: z.object({ repo: Repo }).optional(),
    base: z.object({ repo: Repo }).optional(),
  }),
  sender: User.nullable().optional(),
});
const AnyEvent = z.object({ sender: User.nullable().optional() });
const PushEvent = z.object({ ref: z.string(), before: z.string(), after: z.string() });

export async function readTriggerEvent(
  eventName: string | null,
  eventPath: string | null,
): Promise<TriggerEvent> {
  if (!eventPath) return { kind: 'other', name: eventName, sender: null };
  const known =
    eventName === 'issue_comment' ||
    eventName === 'pull_request' ||
    eventName === 'pull_request_target' ||
    eventName === 'push';
  let payload: unknown;
  try {
    payload = JSON.parse(await readFile(eventPath, 'utf8'));
  } catch (error) {
    // Another event's payload only says who caused it: without it, nobody is known.
    if (!known) return { kind: 'other', name: eventName, sender: null };
    throw new UsageError(
      `cannot read the event payload at ${eventPath}: ${(error as Error).message}`,
      null,
    );
  }
  const other = (): TriggerEvent => {
    const parsed = AnyEvent.safeParse(payload);
    return {
      kind: 'other',
      name: eventName,
      sender: parsed.success ? (parsed.data.sender?.login ?? null) : null,
    };
  };
  if (eventName === 'issue_comment') {
    const parsed = IssueCommentEvent.safeParse(payload);
    if (!parsed.success) {
      throw new UsageError(
        `the issue_comment payload is not as expected: ${parsed.error.issues[0]?.message}`,
        null,
      );
    }
    const { action, comment, issue } = parsed.data;
    return {
      kind: 'comment',
      action,
      commentId: comment.id,
      body: comment.body ?? '',
      author: comment.user.login,
      authorIsBot: comment.user.type === 'Bot' || comment.user.login.endsWith('[bot]'),
      issueNumber: issue.number,
      onPullRequest: Boolean(issue.pull_request),
    };
  }
  if (eventName === 'push') {
    const push = PushEvent.safeParse(payload);
    return push.success ? { kind: 'push', ...push.data } : other();
  }
  if (eventName !== 'pull_request' && eventName !== 'pull_request_target') return other();
  const pr = PullRequestEvent.safeParse(payload);
  if (!pr.success) return other();
  const { pull_request: data, sender } = pr.data;
  const head = data.head?.repo?.full_name ?? null;
  const base = data.base?.repo?.full_name ?? null;
  return {
    kind: 'pull_request',
    name: eventName,
    number: data.number,
    sender: sender?.login ?? null,
    fromFork: head === null || base === null || head.toLowerCase() !== base.toLowerCase(),
  };
}
