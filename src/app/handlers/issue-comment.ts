/**
 * `issue_comment.created`: a `/parallel-run` command on a pull request. Order matters: nothing is
 * read or written for comments that are not commands; authorisation comes before anything else;
 * fork PRs are refused before their plan is even read.
 */
import type { Context } from 'probot';
import { configErrorComment, loadRepoConfig } from '../config.js';
import { executeCommand } from '../commands/execute.js';
import { helpText } from '../commands/help.js';
import { parseCommentCommand } from '../../forge/comment-command.js';
import type { Config } from '../../engine/config/schema.js';
import type { Scope } from '../scope.js';

export async function onIssueComment(
  context: Context<'issue_comment.created'>,
  scopeFor: () => Promise<Scope>,
): Promise<void> {
  const { payload } = context;
  const parsed = parseCommentCommand(payload.comment.body ?? '');
  if (parsed === null || !payload.issue.pull_request) return;
  const scope = await scopeFor();
  const author = payload.comment.user?.login ?? payload.sender.login;
  const isBot = payload.comment.user?.type === 'Bot' || author.endsWith('[bot]');
  const defaultBranch = payload.repository.default_branch;
  const number = payload.issue.number;

  let config: Config | null = null;
  if (isBot) {
    if (author === scope.botLogin) return;
    const loaded = await loadRepoConfig(scope, defaultBranch);
    if (!loaded.ok || !loaded.config.github.allowBots) {
      scope.log.info('ignoring a command from a bot', { author });
      return;
    }
    config = loaded.config;
  }

  const permission = await scope.forge.getCollaboratorPermission(author);
  if (!permission.canWrite) {
    await scope.forge.createComment(
      number,
      `Thanks, @\u200b${author} — only people with write access to this repository can run \`/parallel-run\` commands, so nothing was started. A maintainer can run it for you.`,
    );
    return;
  }
  // Seen: a sign for the person, sent beside the work rather than before it (under a burst the
  // workflow dispatches go first in the write queue), and waited for before the handler returns.
  const reacted = scope.forge
    .addReaction(payload.comment.id, 'eyes')
    .catch((error: unknown) =>
      scope.log.warn('could not add the reaction', { error: String(error) }),
    );
  try {
    await answer(scope, parsed, { number, defaultBranch, author, config });
  } finally {
    await reacted;
  }
}

async function answer(
  scope: Scope,
  parsed: NonNullable<ReturnType<typeof parseCommentCommand>>,
  target: { number: number; defaultBranch: string; author: string; config: Config | null },
): Promise<void> {
  const { number, defaultBranch, author } = target;
  let { config } = target;
  if (!parsed.ok || parsed.command.kind === 'help') {
    await scope.forge.createComment(number, helpText(parsed.ok ? null : parsed.error));
    return;
  }

  const pr = await scope.forge.getPullRequest(number);
  if (pr.fromFork) {
    await scope.forge.createComment(
      number,
      `🚫 This pull request comes from a fork (\`${pr.headRepo ?? 'a deleted repository'}\`). parallel-executor does not run agents on fork code: the workflow would run it with this repository's secrets and write access. Push the branch to this repository and open the PR from there.`,
    );
    return;
  }
  const startsWork = parsed.command.kind === 'run' || parsed.command.kind === 'retry';
  if (startsWork && pr.state !== 'open') {
    await scope.forge.createComment(number, 'This pull request is closed; nothing was started.');
    return;
  }

  if (config === null) {
    const loaded = await loadRepoConfig(scope, defaultBranch);
    if (!loaded.ok) {
      await scope.forge.createComment(number, configErrorComment(loaded.error, defaultBranch));
      return;
    }
    config = loaded.config;
  }
  await executeCommand(scope, parsed.command, { pr, config, requester: author, defaultBranch });
}
