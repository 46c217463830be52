/**
 * `push`: when the plan changed, check it and report a check run on the pushed commit; on a branch
 * the config names for automatic runs, start the next pending group.
 */
import type { Context } from 'probot';
import { onlyStatusesChanged } from '../../engine/plan/status-only.js';
import type { Config } from '../../engine/config/schema.js';
import type { Plan } from '../../engine/plan/schema.js';
import { loadRepoConfig } from '../config.js';
import { startExecution } from '../execution/start.js';
import { finalizeEnded } from '../execution/recover.js';
import { planCheckRun } from '../plan/check-report.js';
import { loadPlan } from '../plan/load.js';
import { nextGroup, selectTasks, WAVE_SELECTION } from '../../engine/schedule/select.js';
import type { Scope } from '../scope.js';
import { readWorkflow } from '../../forge/workflow.js';
import { escapeRegExp } from '../../engine/regexp.js';

const NO_COMMIT = /^0+$/;

export async function onPush(
  context: Context<'push'>,
  scopeFor: () => Promise<Scope>,
): Promise<void> {
  const { payload } = context;
  if (payload.deleted || NO_COMMIT.test(payload.after) || !payload.ref.startsWith('refs/heads/'))
    return;
  const changed = new Set<string>();
  for (const commit of payload.commits) {
    for (const path of [...(commit.added ?? []), ...(commit.modified ?? [])]) changed.add(path);
  }
  // Plans are Markdown: pushes that touch none cost no API call at all.
  if (![...changed].some((path) => path.toLowerCase().endsWith('.md'))) return;
  const scope = await scopeFor();
  const loaded = await loadRepoConfig(scope, payload.repository.default_branch);
  if (!loaded.ok) {
    scope.log.warn('push: configuration does not parse; plan not checked', {
      error: loaded.error.message,
    });
    return;
  }
  const config = loaded.config;
  if (!changed.has(config.plan)) return;
  const branch = payload.ref.slice('refs/heads/'.length);
  const plan = await loadPlan(scope, config.plan, payload.after);
  if (plan.kind === 'missing') return;
  await scope.forge.createCheckRun(planCheckRun(payload.after, plan));
  if (plan.kind !== 'valid' || !config.github.autoRunBranches.some((p) => branchMatches(p, branch)))
    return;
  if (await onlyStatusesPushed(scope, config.plan, payload.before, plan.plan)) {
    scope.log.info(
      'auto-run: the push only moved task statuses (a landed run); nothing new to run',
      {
        branch,
      },
    );
    return;
  }
  const refused = await whyNotAllowed(scope, payload.sender ?? null, config);
  if (refused !== null) {
    scope.log.info('auto-run: not started for this pusher', { branch, reason: refused });
    return;
  }
  const group = nextGroup(plan.plan);
  if (group === null) {
    scope.log.info('auto-run: no group has a task that can start', { branch });
    return;
  }
  const selection = selectTasks(plan.plan, { group }, WAVE_SELECTION);
  const workflow = await readWorkflow(
    scope.forge,
    config.github.workflow,
    payload.repository.default_branch,
  );
  if (workflow === null) {
    scope.log.warn('auto-run: the workflow is not on the default branch', {
      workflow: config.github.workflow,
    });
    return;
  }
  await scope.deps.mutex.run(`${scope.owner}/${scope.repo}@${branch}`, () =>
    startExecution(
      scope,
      {
        pr: null,
        ref: branch,
        sha: payload.after,
        workflow: config.github.workflow,
        planPath: config.plan,
        plan: plan.plan,
        group: selection.group,
        tasks: selection.tasks,
        namedTasks: false,
        workflowInputs: workflow.inputs,
        startedBy: payload.sender?.login ?? null,
        writeBack: config.github.writeBackToPr,
      },
      (ended) => finalizeEnded(scope, ended, config),
    ),
  );
}

/**
 * Only someone with write permission starts a run, as with a comment. Pushes are not all theirs:
 * a workflow's token pushes too (the publish job pushes every task branch, whose plan the agent
 * may have edited, and the integration branch), and so does any app with contents access; with
 * `autoRunBranches: ["**"]` such a push would start a run of an agent-written plan. Bots, the
 * workflow's `github-actions[bot]` among them, only with `github.allowBots` (and write access).
 */
async function whyNotAllowed(
  scope: Scope,
  sender: { login: string; type?: string } | null,
  config: Config,
): Promise<string | null> {
  if (sender === null) return 'the push names no sender';
  const isBot = sender.type === 'Bot' || sender.login.endsWith('[bot]');
  if (isBot && (sender.login === scope.botLogin || !config.github.allowBots)) {
    return `pushed by a bot (${sender.login}); github.allowBots is off`;
  }
  const permission = await scope.forge.getCollaboratorPermission(sender.login);
  return permission.canWrite ? null : `${sender.login} has ${permission.permission} permission`;
}

/** The rule both shells follow (engine/plan/status-only.ts): a merged integration PR runs nothing. */
async function onlyStatusesPushed(
  scope: Scope,
  path: string,
  before: string,
  after: Plan,
): Promise<boolean> {
  if (NO_COMMIT.test(before)) return false;
  const previous = await loadPlan(scope, path, before);
  return previous.kind === 'valid' && onlyStatusesChanged(previous.plan, after);
}

/** `main`, `release/*` (one level), `feature/**` (any depth). */
export function branchMatches(pattern: string, branch: string): boolean {
  const regex = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${regex}$`).test(branch);
}
