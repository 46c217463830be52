/**
 * Publish mode (the only job with write permissions, and it runs nothing from the repository or
 * the agents: no package script, no check, no hook, no checkout of their commits): read the
 * integrate job's result as untrusted input (see integrate/receive.ts), push the task branches and
 * the integration branch that passed, never forced, and — unless the GitHub App manages the run —
 * complete the task check runs, open or update the integration PR, upsert the report comment and
 * start the next wave. The report is rendered again here from the checked state, not taken as
 * the integrate job wrote it.
 *
 * The step fails when the result is refused (nothing is pushed then) or a branch was not pushed.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { mdText } from '../../engine/report/markdown.js';
import { setUsageOutputs } from '../usage-outputs.js';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { ParallelExecutorError } from '../../engine/errors.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { parsePlan } from '../../engine/plan/parse.js';
import type { Plan } from '../../engine/plan/schema.js';
import { renderReport } from '../../engine/report/render.js';
import { findRepoRoot } from '../../engine/workspace/repo.js';
import { capText } from '../../forge/limits.js';
import { readTriggerEvent } from '../event.js';
import { SUMMARY_LIMIT } from '../markdown.js';
import { nextWave, type NextWave } from '../integrate/next-wave.js';
import { integrationPullRequest } from '../../github-run/integration-pull-request.js';
import { reportCommentBody, reportMarkerKey } from '../../github-run/report-comment.js';
import { completeTaskCheckRuns } from '../integrate/publish.js';
import { pushBranches, pushSecrets, type PushAuth } from '../integrate/push.js';
import { receiveResult, type ReceivedBranch } from '../integrate/receive.js';
import { STATE_FILE, STATE_REPORT_FILE } from '../integrate/result.js';
import { planBlobAt, safeGit } from '../integrate/safe-git.js';
import { readConfigFile } from '../../engine/config/load.js';
import { loadPlan, requireRunnable } from '../repo-files.js';
import type { PublishSettings } from '../settings.js';
import { pullRequestOf, targetBranch } from '../target.js';
import type { ModeDeps } from './types.js';

/** The result's artifact name in the reusable workflow (src/app/execution/names.ts). */
const RESULT_ARTIFACT_NAME = 'parallel-executor-result';

export interface PublishModeResult {
  state: ExecutionState;
  integrationBranch: string | null;
  pushedTaskBranches: string[];
  pullRequest: { number: number; url: string } | null;
  comment: { id: number; url: string } | null;
  nextWave: NextWave;
  problems: string[];
}

export async function runPublishMode(
  settings: PublishSettings,
  deps: ModeDeps,
): Promise<PublishModeResult> {
  const { runtime } = deps;
  if (settings.resultUpload !== null && settings.resultUpload !== 'success') {
    throw new ParallelExecutorError(
      `the result in ${settings.resultDir} is not the integrate job's, nothing was published: the step that uploads it as ${RESULT_ARTIFACT_NAME} ended with ${settings.resultUpload}`,
      "An artifact name is taken once per run, and the agent and repair legs run agent code that can reach the run's artifact token: one may have uploaded an artifact under that name first (the upload step then says it already exists). Look at that step in the integrate (or integrate repairs) job; start the run again.",
    );
  }
  const config = await readConfigFile(settings.runner.workspace);
  const plan = requireRunnable(await loadPlan(deps, settings), settings.planFile);
  const event = await readTriggerEvent(settings.runner.eventName, settings.runner.eventPath);
  const root = await findRepoRoot(settings.runner.workspace);
  // The trusted base: what this job checked out (the plan job's `sha`), never the result's word.
  const baseSha = (await safeGit(root, ['rev-parse', '--verify', 'HEAD^{commit}'])).stdout.trim();
  const checkedOut = await safeGit(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], {
    allowExitCodes: [1],
  });
  const integrationBranch = `${config.integration.branchPrefix}${settings.executionId}`;
  const pullRequest = pullRequestOf(settings.pullRequest, event);
  const baseBranch = settings.appManaged
    ? null
    : await targetBranch({
        input: settings.baseBranch,
        pullRequest,
        forge: deps.forge,
        runner: settings.runner,
        avoid: integrationBranch,
      });
  const received = await receiveResult({
    root,
    dir: settings.resultDir,
    executionId: settings.executionId,
    baseSha,
    plan,
    integrationBranch,
    protectedBranches: new Set(
      [integrationBranch, baseBranch, settings.baseBranch, checkedOut.stdout.trim() || null].filter(
        (b): b is string => b !== null,
      ),
    ),
    allowWorkflowChanges: config.github.allowWorkflowChanges,
    planFile: relative(root, settings.planPath).split(sep).join('/'),
  });
  if (!received.ok) {
    throw new ParallelExecutorError(
      `the integrate job's result was refused, nothing was published: ${received.problem}`,
      'The integrate job runs agent-written code, so its result is checked before anything is pushed. Look at the integrate job of this run; start the run again once it is fixed.',
    );
  }
  const problems: string[] = [];
  const warn = (message: string) => {
    problems.push(message);
    runtime.annotate('warning', message);
  };
  for (const branch of [...received.tasks, received.integration]) {
    if (branch?.problem) warn(`${describeBranch(branch)} was not pushed: ${branch.problem}`);
  }

  const pushed = await pushAccepted(
    root,
    // A task branch at the base holds nothing to keep: it is not pushed.
    received.tasks.filter((b) => b.head !== baseSha),
    received.integration,
    settings,
    deps,
  );
  for (const failure of pushed.failures) warn(failure);
  const integrationPushed = pushed.branches.includes(integrationBranch);
  const pushedTaskBranches = pushed.branches.filter((b) => b !== integrationBranch);
  // What the report, the check runs and the outputs call merged is what the remote now holds.
  const state =
    integrationPushed || settings.dryRun
      ? received.state
      : notMerged(received.state, `the integration branch ${integrationBranch} was not pushed`);

  const report = renderReport(state, { now: deps.clock.now() });
  // The path is an output later steps of the job read; the runner's temp folder goes after it.
  const temp = settings.runner.temp ?? tmpdir();
  await mkdir(temp, { recursive: true });
  const publishDir = await mkdtemp(join(temp, 'pe-publish-'));
  const reportFile = join(publishDir, STATE_REPORT_FILE);
  await writeFile(reportFile, report);
  // The state as checked and published here, for the GitHub App (the `parallel-executor-published`
  // artifact): the integrate job's own copy is whatever its agent-written tests left.
  const stateFile = join(publishDir, STATE_FILE);
  await writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  const reportPath = integrationPushed ? state.report_path : null;
  const published = await publish({
    settings,
    deps,
    state,
    report: problems.length > 0 ? `${report}\n${problemSection(problems)}` : report,
    baseSha,
    baseBranch,
    pullRequest,
    pushed: integrationPushed,
    reportPath,
    planLabel: plan.title ?? settings.planFile,
  });
  const planAfter =
    integrationPushed && received.integration
      ? await planOnBranch(root, received.integration.head, settings, warn)
      : plan;
  const next = await nextWave({
    forge: deps.forge,
    settings,
    plan: planAfter ?? plan,
    state,
    integrationBranch,
    pushed: integrationPushed && planAfter !== null,
    baseBranch,
    pullRequest,
    configuredWorkflow: config.github.workflow,
  });
  runtime.logger.info(next.dispatched ? 'next wave dispatched' : 'no next wave', {
    tasks: next.tasks,
    ...(next.dispatched ? {} : { reason: next.reason }),
  });

  const integration = state.integration;
  runtime.setOutput('branch', JSON.stringify(pushedTaskBranches));
  runtime.setOutput('integration-branch', integrationPushed ? integrationBranch : '');
  runtime.setOutput('pull-request', published.pullRequest?.url ?? '');
  runtime.setOutput('report', reportFile);
  runtime.setOutput('state', stateFile);
  runtime.setOutput('merged', JSON.stringify(integration?.merged ?? []));
  setUsageOutputs(runtime, state);
  runtime.setOutput(
    'conflicts',
    JSON.stringify((integration?.conflicts ?? []).map((c) => ({ task: c.taskId, files: c.files }))),
  );
  await runtime.writeSummary(
    capText(
      `${report}\n---\n${summaryFooter(next, published.pullRequest, problems)}`,
      SUMMARY_LIMIT,
      'the full report is in the parallel-executor-state artifact',
    ).text,
  );
  if (problems.length > 0) {
    runtime.setFailed(
      `publishing execution ${settings.executionId} left branches out: see the job summary`,
    );
  }
  return {
    state,
    integrationBranch: integrationPushed ? integrationBranch : null,
    pushedTaskBranches,
    pullRequest: published.pullRequest,
    comment: published.comment,
    nextWave: next,
    problems,
  };
}

/** The state with every merge taken back (its tasks left out, with `reason`): nothing landed. */
function notMerged(state: ExecutionState, reason: string): ExecutionState {
  const integration = state.integration;
  if (integration === null || integration.merged.length === 0) return state;
  return {
    ...state,
    integration: {
      ...integration,
      merged: [],
      dropped: [
        ...integration.dropped,
        ...integration.merged.map((taskId) => ({ taskId, reason })),
      ],
      ...(integration.repairs
        ? {
            repairs: integration.repairs.map((r) =>
              r.outcome === 'merged' ? { ...r, outcome: 'failed' as const, reason } : r,
            ),
          }
        : {}),
    },
  };
}

function describeBranch(branch: ReceivedBranch): string {
  return branch.taskId === null
    ? `the integration branch ${branch.branch}`
    : `task ${branch.taskId}'s branch ${branch.branch}`;
}

/** One push of every accepted branch, each at the commit it was checked at; never forced. */
async function pushAccepted(
  root: string,
  tasks: readonly ReceivedBranch[],
  integration: ReceivedBranch | null,
  settings: PublishSettings,
  deps: ModeDeps,
): Promise<{ branches: string[]; failures: string[] }> {
  const accepted = [...tasks, ...(integration ? [integration] : [])].filter(
    (b) => b.problem === null,
  );
  if (settings.dryRun) {
    deps.runtime.logger.info('dry run: not pushing', { branches: accepted.map((b) => b.branch) });
    return { branches: [], failures: [] };
  }
  const auth: PushAuth = {
    serverUrl: settings.runner.serverUrl,
    token: settings.githubToken || null,
    env: deps.env,
  };
  for (const secret of pushSecrets(auth.token)) deps.runtime.setSecret(secret);
  const outcomes = await pushBranches(
    root,
    accepted.map((b) => ({ source: b.head, branch: b.branch })),
    auth,
  );
  return {
    branches: outcomes.filter((o) => o.ok).map((o) => o.branch),
    failures: outcomes
      .filter((o) => !o.ok)
      .map((o) => {
        const branch = accepted.find((b) => b.branch === o.branch)!;
        return `${describeBranch(branch)} was not pushed: ${o.summary}`;
      }),
  };
}

/** The plan as the integrate job wrote it back (for the next wave), read as a blob: no filter runs. */
async function planOnBranch(
  root: string,
  head: string,
  settings: PublishSettings,
  warn: (message: string) => void,
): Promise<Plan | null> {
  // Read for the next wave only.
  const text = await planBlobAt(root, head, relative(root, settings.planPath).split(sep).join('/'));
  if (text === null) {
    warn(`the plan on the integration branch could not be read (${settings.planFile})`);
    return null;
  }
  try {
    return parsePlan(text).plan;
  } catch (error) {
    warn(`the plan on the integration branch does not parse: ${(error as Error).message}`);
    return null;
  }
}

interface PublishInput {
  settings: PublishSettings;
  deps: ModeDeps;
  state: ExecutionState;
  report: string;
  baseSha: string;
  baseBranch: string | null;
  pullRequest: number | null;
  pushed: boolean;
  reportPath: string | null;
  planLabel: string;
}

interface Published {
  pullRequest: { number: number; url: string } | null;
  comment: { id: number; url: string } | null;
}

/** Check runs, the integration PR and the report comment; the app does all three when it runs things. */
async function publish(input: PublishInput): Promise<Published> {
  const { settings, deps, state } = input;
  const forge = deps.forge;
  if (settings.appManaged || !forge) {
    if (!forge && !settings.appManaged) {
      deps.runtime.logger.warn('no github-token: no PR, comment or check runs', {});
    }
    return { pullRequest: null, comment: null };
  }
  await completeTaskCheckRuns(forge, state, input.baseSha, deps.runtime.logger);
  const runUrl = settings.runner.runId
    ? `${settings.runner.serverUrl}/${settings.runner.owner}/${settings.runner.repo}/actions/runs/${settings.runner.runId}`
    : null;
  let pullRequest: Published['pullRequest'] = null;
  if (input.pushed && input.baseBranch !== null) {
    pullRequest = await (deps.prForge ?? forge).upsertPullRequest(
      integrationPullRequest({
        state: { ...state, report_path: input.reportPath },
        base: input.baseBranch,
        planLabel: input.planLabel,
        group: state.parallel_group,
        pullRequest: input.pullRequest,
        runUrl,
      }),
    );
  }
  let comment: Published['comment'] = null;
  if (input.pullRequest !== null) {
    comment = await forge.upsertComment(
      input.pullRequest,
      reportMarkerKey(settings.executionId),
      reportCommentBody(input.report, settings.executionId, { runUrl, pullRequest }),
    );
  }
  return { pullRequest, comment };
}

function problemSection(problems: string[]): string {
  return `**Not published**\n\n${problems.map((p) => `- ⚠️ ${mdText(p)}`).join('\n')}\n`;
}

function summaryFooter(
  next: NextWave,
  pr: { number: number; url: string } | null,
  problems: string[],
): string {
  const lines = [
    pr ? `Integration PR: #${pr.number}` : null,
    next.dispatched
      ? `Next wave dispatched: ${next.tasks.join(', ')}`
      : next.tasks.length > 0
        ? `Next wave not started (${next.reason}): ${next.tasks.join(', ')}`
        : null,
    ...problems.map((p) => `⚠️ ${mdText(p)}`),
  ].filter((line): line is string => line !== null);
  return `${lines.join('\n\n')}\n`;
}
