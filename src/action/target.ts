/**
 * Where a run's results go: the pull request it reports on, and the branch its integration PR
 * targets. Inputs win (the app and the next-wave dispatch pass them); otherwise the triggering
 * event says.
 */
import { readFile } from 'node:fs/promises';
import type { RepoForge } from '../forge/types.js';
import type { TriggerEvent } from './event.js';
import type { RunnerContext } from './settings.js';

/** The PR the run is for: the `pr-number` input, else the PR the comment or event is on. */
export function pullRequestOf(input: number | null, event: TriggerEvent): number | null {
  if (input !== null) return input;
  if (event.kind === 'comment' && event.onPullRequest) return event.issueNumber;
  if (event.kind === 'pull_request') return event.number;
  return null;
}

/**
 * The branch the integration PR targets: the `base-branch` input; else the head branch of the PR
 * the run is for (the plan lives there, so its work goes back there); else the pushed or
 * dispatched branch; else the repository's default branch. Never `avoid` (the integration branch
 * itself, when a next wave runs on it).
 */
export async function targetBranch(options: {
  input: string | null;
  pullRequest: number | null;
  forge: RepoForge | null;
  runner: RunnerContext;
  avoid: string;
}): Promise<string | null> {
  const ok = (branch: string | null | undefined): branch is string =>
    typeof branch === 'string' && branch.length > 0 && branch !== options.avoid;
  if (ok(options.input)) return options.input;
  if (options.pullRequest !== null && options.forge) {
    const pr = await options.forge.getPullRequest(options.pullRequest);
    if (!pr.fromFork && ok(pr.headRef)) return pr.headRef;
  }
  const pushed = options.runner.ref?.startsWith('refs/heads/')
    ? options.runner.ref.slice('refs/heads/'.length)
    : null;
  if (ok(pushed)) return pushed;
  const fallback = await defaultBranchOf(options.runner.eventPath);
  return ok(fallback) ? fallback : null;
}

/** `repository.default_branch` of the event payload; every event that has a repository has it. */
async function defaultBranchOf(eventPath: string | null): Promise<string | null> {
  if (!eventPath) return null;
  try {
    const payload = JSON.parse(await readFile(eventPath, 'utf8')) as {
      repository?: { default_branch?: unknown };
    };
    const branch = payload.repository?.default_branch;
    return typeof branch === 'string' ? branch : null;
  } catch {
    return null;
  }
}
