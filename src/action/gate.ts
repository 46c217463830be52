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

export async function gateTrigger(
  event: TriggerEvent,
  forge: RepoForge | null,
  options: { allowBots: boolean },
): Promise<GateResult> {
  if (event.kind !== 'comment')
    return {
      allowed: true,
      group: null,
      dryRun: false,
      pullRequest: null,
      headSha: null,
      headRef: null,
    };
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
