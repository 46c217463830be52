/**
 * Integrate mode (no AI; the job's write token): read the agent legs' bundles, verify and fetch
 * them, push the task branches, merge the completed ones into the integration branch with the
 * engine's batch-and-bisect (conflicts reported, never resolved), commit the plan's statuses and
 * the report on it, push it, and — unless the GitHub App manages the run — open or update the
 * integration PR, upsert the report comment, complete the task check runs and start the next wave.
 * The state and report go to `state-dir` for the workflow to upload as `parallel-executor-state`.
 *
 * The step fails when integration itself went wrong (a conflict, a dropped branch, failing
 * integration tests, a refused bundle, a rejected push); a task whose agent failed already failed
 * its own leg and only shows in the report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Config } from '../../engine/config/schema.js';
import { integrate } from '../../engine/integrate/integrate.js';
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import { integrationTestCommand } from '../../engine/integrate/test-command.js';
import { STATE_FILE } from '../../engine/monitor/state-store.js';
import type { ExecutionState } from '../../engine/monitor/state.js';
import { parsePlan } from '../../engine/plan/parse.js';
import type { Plan } from '../../engine/plan/schema.js';
import type { Logger } from '../../engine/ports/logger.js';
import { writeBack } from '../../engine/plan/write-back.js';
import { renderReport } from '../../engine/report/render.js';
import { git } from '../../engine/workspace/git-exec.js';
import { DEFAULT_IDENTITY } from '../../engine/workspace/identity.js';
import {
  excludeToolDir,
  findRepoRoot,
  inspectRepo,
  TOOL_DIR,
} from '../../engine/workspace/repo.js';
import { capText } from '../../forge/limits.js';
import type { RepoForge } from '../../forge/types.js';
import { untrustedEnvironment } from '../environment.js';
import { readTriggerEvent } from '../event.js';
import { cell } from '../markdown.js';
import { fetchBundles, readBundles, type ReceivedTask } from '../integrate/bundles.js';
import { commitFiles } from '../integrate/commit-files.js';
import { nextWave, type NextWave } from '../integrate/next-wave.js';
import { planUpdate, reportPathFor } from '../integrate/plan-update.js';
import {
  completeTaskCheckRuns,
  openIntegrationPullRequest,
  reportComment,
  reportMarkerKey,
} from '../integrate/publish.js';
import { pushBranches, pushSecrets, type PushAuth, type PushOutcome } from '../integrate/push.js';
import { buildState } from '../integrate/state.js';
import { loadPlan, readConfig, requireRunnable } from '../repo-files.js';
import { selectWave } from '../../engine/schedule/wave.js';
import type { IntegrateSettings } from '../settings.js';
import { pullRequestOf, targetBranch } from '../target.js';
import type { ModeDeps } from './types.js';

/** The app reads these names from the `parallel-executor-state` artifact. */
export const STATE_REPORT_FILE = 'report.md';
/** A job summary may hold 1 MiB; 340,000 UTF-16 units stay under it even at 3 bytes each. */
const SUMMARY_LIMIT = 340_000;

export interface IntegrateModeResult {
  state: ExecutionState;
  integrationBranch: string | null;
  pullRequest: { number: number; url: string } | null;
  comment: { id: number; url: string } | null;
  nextWave: NextWave;
  problems: string[];
}

export async function runIntegrateMode(
  settings: IntegrateSettings,
  deps: ModeDeps,
): Promise<IntegrateModeResult> {
  const { runtime } = deps;
  const config = await readConfig(settings.runner.workspace);
  const loaded = await loadPlan(deps, settings);
  const plan = requireRunnable(loaded, settings.planFile);
  const event = await readTriggerEvent(settings.runner.eventName, settings.runner.eventPath);
  const root = await findRepoRoot(settings.runner.workspace);
  const repo = await inspectRepo(root);
  const baseSha = repo.headSha;
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
  const wave = selectWave(plan, settings.group, settings.tasks).ready;
  const problems: string[] = [];
  const warn = (message: string) => {
    problems.push(message);
    runtime.annotate('warning', message);
  };

  // The bundles: read, checked, fetched into their task branches.
  const received = await readBundles(settings.bundleDir, settings.executionId, plan);
  for (const p of received.problems) warn(`bundle ${p.folder} ignored: ${p.problem}`);
  const guarded = new Set(
    [integrationBranch, baseBranch, repo.branch].filter((b): b is string => b !== null),
  );
  await fetchBundles(root, received.tasks, plan, baseSha, guarded);
  for (const task of received.tasks) {
    if (task.problem) warn(`task ${task.file.task_id}: bundle refused: ${task.problem}`);
  }
  for (const task of wave.filter((t) => !received.tasks.some((r) => r.file.task_id === t.id))) {
    // Its leg failed before writing a bundle (or was cancelled): the leg shows that, not this step.
    runtime.annotate(
      'warning',
      `task ${task.id}: no bundle (artifact agent-${task.id} is missing)`,
    );
  }

  const auth: PushAuth = {
    serverUrl: settings.runner.serverUrl,
    token: settings.githubToken || null,
    env: deps.env,
  };
  for (const secret of pushSecrets(auth.token)) runtime.setSecret(secret);
  const taskPushes = await pushTaskBranches(root, received.tasks, auth, settings.dryRun, runtime);
  for (const push of taskPushes.filter((p) => !p.ok)) {
    warn(`task branch ${push.branch} was not pushed: ${push.summary}`);
  }

  // The integration, from the commit the whole run checked out.
  await excludeToolDir(root);
  const env = untrustedEnvironment(deps.env);
  // In plan order: integration merges in the order it is given (dependencies first).
  const planIndex = (id: string) => plan.tasks.findIndex((t) => t.id === id);
  const candidates = received.tasks
    .filter((t) => t.problem === null && t.file.status === 'completed')
    .sort((a, b) => planIndex(a.file.task_id) - planIndex(b.file.task_id));
  const localBranch = `parallel-executor/integrating/${settings.executionId}`;
  let integration: IntegrationResult | null = null;
  if (candidates.length > 0) {
    try {
      integration = await runIntegration(
        root,
        localBranch,
        integrationBranch,
        baseSha,
        candidates,
        {
          plan,
          config,
          env,
          logDir: join(settings.stateDir, 'integration'),
          logger: runtime.logger,
        },
      );
    } catch (error) {
      // The report still goes out: it says nothing was merged, and why.
      warn(`the integration failed: ${(error as Error).message}`);
    }
  }

  const reportPath = await reportPathFor(root, config.report.dir, settings.executionId);
  const landed = integration !== null && integration.merged.length > 0;
  const state = buildState({
    executionId: settings.executionId,
    planFile: settings.planFile,
    plan,
    group: settings.group ?? 'all',
    root,
    baseRef: repo.branch ?? settings.runner.ref ?? baseSha,
    baseSha,
    wave,
    received: received.tasks,
    integration,
    reportPath: landed ? reportPath : null,
    now: deps.clock.now(),
  });
  const report = renderReport(state, { now: deps.clock.now() });

  // The plan's statuses and the report, committed on the integration branch, then pushed.
  let planAfter: Plan = plan;
  let pushed = false;
  if (landed) {
    const files = [{ path: reportPath, content: report }];
    const planPath = relative(root, settings.planPath).split(sep).join('/');
    if (config.report.writeBack !== 'none') {
      const text = writeBackText(loaded.text, plan, state, reportPath, warn);
      if (text !== null) {
        files.push({ path: planPath, content: text });
        planAfter = parsePlan(text).plan;
      }
    }
    await commitFiles({
      root,
      branch: localBranch,
      files,
      message: `parallel-executor: integrate execution ${settings.executionId}\n\nMerged: ${integration!.merged.join(', ')}.\nPlan statuses written back; report: ${reportPath}.\n`,
      identity: DEFAULT_IDENTITY,
      env: deps.env,
    });
    if (settings.dryRun) {
      runtime.logger.info('dry run: not pushing the integration branch', {
        branch: integrationBranch,
      });
    } else {
      const [outcome] = await pushBranches(
        root,
        [{ source: `refs/heads/${localBranch}`, branch: integrationBranch }],
        auth,
      );
      pushed = outcome!.ok;
      if (!pushed)
        warn(`the integration branch ${integrationBranch} was not pushed: ${outcome!.summary}`);
    }
  }

  const reportFile = await writeStateFolder(settings.stateDir, state, report);
  const published = await publish({
    settings,
    deps,
    state,
    report,
    baseSha,
    baseBranch,
    pullRequest,
    pushed,
    reportPath: landed ? reportPath : null,
    planLabel: plan.title ?? settings.planFile,
  });
  const next = await nextWave({
    forge: deps.forge,
    settings,
    plan: planAfter,
    state,
    integrationBranch,
    pushed,
    baseBranch,
    pullRequest,
    configuredWorkflow: config.github.workflow,
  });
  runtime.logger.info(next.dispatched ? 'next wave dispatched' : 'no next wave', {
    tasks: next.tasks,
    ...(next.dispatched ? {} : { reason: next.reason }),
  });

  setOutputs(runtime, {
    state,
    reportFile,
    pushed,
    integrationBranch,
    pr: published.pullRequest,
    settings,
  });
  await runtime.writeSummary(
    capText(
      `${report}\n---\n${summaryFooter(next, published.pullRequest, problems)}`,
      SUMMARY_LIMIT,
      'the full report is in the parallel-executor-state artifact',
    ).text,
  );
  const failedHere =
    problems.length > 0 ||
    (integration !== null &&
      (integration.conflicts.length > 0 ||
        integration.dropped.length > 0 ||
        integration.testsPassed === false));
  if (failedHere) {
    runtime.setFailed(
      `integration of execution ${settings.executionId} did not land every completed task: see the report in the job summary`,
    );
  }
  return {
    state,
    integrationBranch: pushed ? integrationBranch : null,
    pullRequest: published.pullRequest,
    comment: published.comment,
    nextWave: next,
    problems,
  };
}

interface IntegrationContext {
  plan: Plan;
  config: Config;
  env: Record<string, string>;
  logDir: string;
  logger: Logger;
}

/** The engine's integration, built under a local name and reported under the pushed one. */
async function runIntegration(
  root: string,
  localBranch: string,
  integrationBranch: string,
  baseSha: string,
  candidates: readonly ReceivedTask[],
  ctx: IntegrationContext,
): Promise<IntegrationResult> {
  await git(root, ['branch', '-D', localBranch], { allowExitCodes: [1] });
  const result = await integrate({
    repoRoot: root,
    baseSha,
    branchName: localBranch,
    workdir: join(root, TOOL_DIR, 'integration'),
    candidates: candidates.map((t) => ({
      taskId: t.file.task_id,
      agent: t.file.agent,
      branch: t.file.branch,
      dependsOn: ctx.plan.tasks.find((p) => p.id === t.file.task_id)?.dependsOn ?? [],
    })),
    testCommand: await integrationTestCommand(root, ctx.config),
    strategy: ctx.config.integration.strategy,
    detectConflicts: ctx.config.integration.detectConflicts,
    env: ctx.env,
    logDir: ctx.logDir,
    setupCommand: ctx.config.workspace.setup ?? null,
    logger: ctx.logger,
  });
  return { ...result, branch: integrationBranch };
}

async function pushTaskBranches(
  root: string,
  tasks: readonly ReceivedTask[],
  auth: PushAuth,
  dryRun: boolean,
  runtime: ModeDeps['runtime'],
): Promise<PushOutcome[]> {
  const refs = tasks
    .filter((t) => t.fetched)
    .map((t) => ({ source: `refs/heads/${t.file.branch}`, branch: t.file.branch }));
  if (dryRun) {
    runtime.logger.info('dry run: not pushing task branches', {
      branches: refs.map((r) => r.branch),
    });
    return [];
  }
  return pushBranches(root, refs, auth);
}

function writeBackText(
  text: string,
  plan: Plan,
  state: ExecutionState,
  reportPath: string,
  warn: (message: string) => void,
): string | null {
  try {
    return writeBack(text, plan, planUpdate(state, plan, reportPath));
  } catch (error) {
    warn(`the plan's statuses could not be written back: ${(error as Error).message}`);
    return null;
  }
}

async function writeStateFolder(
  dir: string,
  state: ExecutionState,
  report: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
  const reportFile = join(dir, STATE_REPORT_FILE);
  await writeFile(reportFile, report);
  return reportFile;
}

interface PublishInput {
  settings: IntegrateSettings;
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
  const forge: RepoForge | null = deps.forge;
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
    pullRequest = await openIntegrationPullRequest({
      forge: deps.prForge ?? forge,
      state,
      base: input.baseBranch,
      planLabel: input.planLabel,
      runUrl,
      reportPath: input.reportPath,
      pullRequest: input.pullRequest,
    });
  }
  let comment: Published['comment'] = null;
  if (input.pullRequest !== null) {
    comment = await forge.upsertComment(
      input.pullRequest,
      reportMarkerKey(settings.executionId),
      reportComment(input.report, settings.executionId, { runUrl, pullRequest }),
    );
  }
  return { pullRequest, comment };
}

function setOutputs(
  runtime: ModeDeps['runtime'],
  values: {
    state: ExecutionState;
    reportFile: string;
    pushed: boolean;
    integrationBranch: string;
    pr: { number: number; url: string } | null;
    settings: IntegrateSettings;
  },
): void {
  const integration = values.state.integration;
  runtime.setOutput('integration-branch', values.pushed ? values.integrationBranch : '');
  runtime.setOutput('pull-request', values.pr?.url ?? '');
  runtime.setOutput('report', values.reportFile);
  runtime.setOutput('state-dir', values.settings.stateDir);
  runtime.setOutput('merged', JSON.stringify(integration?.merged ?? []));
  runtime.setOutput(
    'conflicts',
    JSON.stringify((integration?.conflicts ?? []).map((c) => ({ task: c.taskId, files: c.files }))),
  );
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
    ...problems.map((p) => `⚠️ ${cell(p)}`),
  ].filter((line): line is string => line !== null);
  return `${lines.join('\n\n')}\n`;
}
