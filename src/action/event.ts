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
      commentId: number;
      body: string;
      author: string;
      authorIsBot: boolean;
      issueNumber: number;
      onPullRequest: boolean;
    }
  | { kind: 'pull_request'; number: number }
  | { kind: 'push'; ref: string; before: string; after: string }
  | { kind: 'other'; name: string | null };

const PullRequestEvent = z.object({ pull_request: z.object({ number: z.number() }) });
const PushEvent = z.object({ ref: z.string(), before: z.string(), after: z.string() });

export async function readTriggerEvent(
  eventName: string | null,
  eventPath: string | null,
): Promise<TriggerEvent> {
  if (
    !eventPath ||
    (eventName !== 'issue_comment' &&
      eventName !== 'pull_request' &&
      eventName !== 'pull_request_target' &&
      eventName !== 'push')
  ) {
    return { kind: 'other', name: eventName };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(await readFile(eventPath, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `cannot read the event payload at ${eventPath}: ${(error as Error).message}`,
      null,
    );
  }
  if (eventName === 'issue_comment') {
    const parsed = IssueCommentEvent.safeParse(payload);
    if (!parsed.success) {
      throw new UsageError(
        `the issue_comment payload is not as expected: ${parsed.error.issues[0]?.message}`,
        null,
      );
    }
    const { comment, issue } = parsed.data;
    return {
      kind: 'comment',
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
    return push.success ? { kind: 'push', ...push.data } : { kind: 'other', name: eventName };
  }
  const pr = PullRequestEvent.safeParse(payload);
  return pr.success
    ? { kind: 'pull_request', number: pr.data.pull_request.number }
    : { kind: 'other', name: eventName };
}
