/**
 * Who may start a run from a comment: a `/parallel-run` command, on a pull request, by someone
 * with write permission (collaborator-permission API — `author_association` is unreliable), on a
 * PR whose head is in this repository (fork code never runs with our secrets). Refusals are
 * answered on the PR so the person knows why nothing happened.
 */
import { UsageError } from '../engine/errors.js';
import type { RepoForge } from '../forge/types.js';
import { parseCommentCommand } from '../forge/comment-command.js';
import type { TriggerEvent } from './event.js';

const ACTION_USAGE = 'The action alone understands `/parallel-run [group ID|all] [--dry-run]`.';

export type GateResult =
  | {
      allowed: true;
      group: string | null;
      dryRun: boolean;
      pullRequest: number | null;
      headSha: string | null;
      /** The PR's head branch (where its plan lives), when the run is for a PR. */
      headRef: string | null;
    }
  | { allowed: false; reason: string };

/**
 * Events only people (or tokens) that can write to the repository cause: a push, a dispatch, a
 * schedule someone with write access committed. Every other event is gated on who caused it.
 */
const WRITERS_ONLY = new Set(['push', 'workflow_dispatch', 'repository_dispatch', 'schedule']);

const ALLOWED = {
  allowed: true,
  group: null,
  dryRun: false,
  pullRequest: null,
  headSha: null,
  headRef: null,
} as const;

export async function gateTrigger(
  event: TriggerEvent,
  forge: RepoForge | null,
  options: { allowBots: boolean },
): Promise<GateResult> {
  if (event.kind === 'push') return ALLOWED;
  if (event.kind !== 'comment') return gateOtherEvent(event, forge);
  // `edited` and `deleted` deliveries of a command already answered (or never meant) start nothing.
  if (event.action !== 'created') {
    return { allowed: false, reason: `the comment was ${event.action}, not written` };
  }
  const parsed = parseCommentCommand(event.body);
  if (!parsed) return { allowed: false, reason: 'the comment is not a /parallel-run command' };
  if (event.authorIsBot && !options.allowBots) {
    return {
      allowed: false,
      reason: `comments by bots (${event.author}) are ignored (github.allowBots is off)`,
    };
  }
  if (!forge) {
    throw new UsageError(
      'a comment-triggered run needs the github-token input to check the commenter’s permission',
      'Pass `github-token: ${{ github.token }}` (the default) and do not set it empty.',
    );
  }
  const refuse = async (reason: string, reply: string): Promise<GateResult> => {
    await forge.createComment(event.issueNumber, reply);
    return { allowed: false, reason };
  };
  if (!event.onPullRequest) {
    return refuse(
      'not a pull request',
      '`/parallel-run` works on pull requests only: comment on the PR that holds the plan.',
    );
  }
  const permission = await forge.getCollaboratorPermission(event.author);
  if (!permission.canWrite) {
    return refuse(
      `${event.author} has ${permission.permission} permission`,
      `@${event.author} only people with write access to this repository can start a parallel run. Ask a maintainer to comment \`/parallel-run\`.`,
    );
  }
  const pr = await forge.getPullRequest(event.issueNumber);
  if (pr.fromFork) {
    return refuse(
      'pull request from a fork',
      `Parallel runs do not start on pull requests from forks (${pr.headRepo ?? 'a deleted fork'}): agents would run the fork's code with this repository's secrets. Push the branch to this repository and open the PR from there.`,
    );
  }
  if (!parsed.ok) {
    return refuse(
      parsed.error,
      `Sorry, I did not understand that command: ${parsed.error}. ${ACTION_USAGE}`,
    );
  }
  const { command } = parsed;
  if (command.kind !== 'run') {
    return refuse(
      `/parallel-run ${command.kind} is not handled by the action`,
      `\`/parallel-run ${command.kind}\` needs the parallel-executor GitHub App. ${ACTION_USAGE}`,
    );
  }
  await forge.addReaction(event.commentId, 'rocket');
  return {
    allowed: true,
    // The action's selection reads null as "every pending group".
    group: command.group === 'all' ? null : command.group,
    dryRun: command.dryRun,
    pullRequest: pr.number,
    headSha: pr.headSha,
    headRef: pr.headRef,
  };
}

/**
 * A workflow may also listen to `pull_request_target`, `pull_request`, `workflow_run`, labels…:
 * such events are caused by people without write access too (a fork's author opening a PR, a
 * fork's workflow run ending), and `pull_request_target` hands the run this repository's secrets.
 * They start a run only for someone with write permission, never for a fork's PR; nobody is told
 * on the PR (a fork's author would be answered on every push).
 */
async function gateOtherEvent(
  event: Exclude<TriggerEvent, { kind: 'comment' } | { kind: 'push' }>,
  forge: RepoForge | null,
): Promise<GateResult> {
  const name = event.name ?? 'an unnamed event';
  if (event.kind === 'other' && (event.name === null || WRITERS_ONLY.has(event.name))) {
    return ALLOWED;
  }
  if (event.kind === 'pull_request' && event.fromFork) {
    return { allowed: false, reason: `${name} of a pull request from a fork` };
  }
  if (event.sender === null) {
    return { allowed: false, reason: `${name} names nobody who caused it` };
  }
  if (!forge) {
    throw new UsageError(
      `a run started by ${name} needs the github-token input to check the permission of ${event.sender}, who caused it`,
      'Pass `github-token: ${{ github.token }}` (the default) and do not set it empty.',
    );
  }
  const permission = await forge.getCollaboratorPermission(event.sender);
  if (!permission.canWrite) {
    return {
      allowed: false,
      reason: `${event.sender}, who caused ${name}, has ${permission.permission} permission`,
    };
  }
  return ALLOWED;
}
