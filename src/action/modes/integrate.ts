/**
 * Integrate mode (no AI, and no token: this job runs the integration tests, code the agents
 * wrote): read the agent legs' bundles, verify and fetch them, merge the completed tasks into the
 * integration branch with the engine's batch-and-bisect (conflicts reported, never resolved),
 * commit the plan's statuses and the report on it, and write the result to `result-dir`: the
 * integration branch and the task branches as one git bundle, `result.json`, the state and the
 * report. It pushes nothing and calls no API: the publish job, which holds the token and runs no
 * repository code, reads the result as untrusted input and publishes it.
 *
 * The step fails when integration itself went wrong (a conflict, a dropped branch, failing
 * integration tests, a refused bundle); a task whose agent failed already failed its own leg and
 * only shows in the report. When the only thing wrong is tasks left out that repair legs now take
 * (the `repairs` output), it succeeds with status `repairing`: nothing is lost yet, and the
 * integrate-repairs job, which sees how the repairs ended, gives the verdict.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { mdText } from '../../engine/report/markdown.js';
import { setUsageOutputs } from '../usage-outputs.js';
import type { Config } from '../../engine/config/schema.js';
import { integrate } from '../../engine/integrate/integrate.js';
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import { integrationTestCommand } from '../../engine/integrate/test-command.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import type { Plan } from '../../engine/plan/schema.js';
import type { Logger } from '../../engine/ports/logger.js';
import { commitOnBranch } from '../../engine/finish/branch-commit.js';
import { planForBranch } from '../../engine/finish/plan-edits.js';
import { planUpdate, reportLinkFrom } from '../../engine/finish/plan-update.js';
import { markdownPlanFile } from '../../engine/finish/report-step.js';
import { reportFolder } from '../../engine/config/report-dir.js';
import { reportPathIn } from '../../engine/report/path.js';
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
import { untrustedEnvironment } from '../environment.js';
import { SUMMARY_LIMIT } from '../markdown.js';
import { fetchBundles, readBundles, type ReceivedTask } from '../integrate/bundles.js';
import {
  integrationSourceRef,
  RESULT_BUNDLE,
  RESULT_FILE,
  STATE_FILE,
  STATE_REPORT_FILE,
  type ResultFile,
} from '../integrate/result.js';
import { workflowChangeProblem, workflowChanges } from '../integrate/safe-git.js';
import { buildState } from '../integrate/state.js';
import { readConfigFile } from '../../engine/config/load.js';
import { loadPlan, requireRunnable } from '../repo-files.js';
import { selectTasks, WAVE_SELECTION } from '../../engine/schedule/select.js';
import type { IntegrateSettings } from '../settings.js';
import type { ModeDeps } from './types.js';
import { repairTargets, type RepairTarget } from '../../engine/repair/targets.js';
import { repairKinds } from './repair.js';

export interface IntegrateModeResult {
  state: ExecutionState;
  result: ResultFile;
  problems: string[];
}

export async function runIntegrateMode(
  settings: IntegrateSettings,
  deps: ModeDeps,
): Promise<IntegrateModeResult> {
  const { runtime } = deps;
  const config = await readConfigFile(settings.runner.workspace);
  const loaded = await loadPlan(deps, settings);
  const plan = requireRunnable(loaded, settings.planFile);
  const root = await findRepoRoot(settings.runner.workspace);
  const repo = await inspectRepo(root);
  const baseSha = repo.headSha;
  const integrationBranch = `${config.integration.branchPrefix}${settings.executionId}`;
  const wave = selectTasks(
    plan,
    { group: settings.group, tasks: settings.tasks },
    WAVE_SELECTION,
  ).ready;
  const problems: string[] = [];
  const warn = (message: string) => {
    problems.push(message);
    runtime.annotate('warning', message);
  };

  // The bundles: read, checked, fetched into their task branches.
  const received = await readBundles(settings.bundleDir, settings.executionId, plan);
  for (const p of received.problems) warn(`bundle ${p.folder} ignored: ${p.problem}`);
  const guarded = new Set(
    [integrationBranch, settings.baseBranch, repo.branch].filter((b): b is string => b !== null),
  );
  await fetchBundles(root, received.tasks, plan, baseSha, guarded);
  if (!config.github.allowWorkflowChanges)
    await leaveOutWorkflowChanges(root, received.tasks, baseSha);
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

  // The integration, from the commit the whole run checked out.
  await excludeToolDir(root, repo.commonDir);
  const env = untrustedEnvironment(deps.env);
  // In plan order: integration merges in the order it is given (dependencies first).
  const planIndex = (id: string) => plan.tasks.findIndex((t) => t.id === id);
  const candidates = received.tasks
    .filter((t) => t.problem === null && t.file.status === 'completed')
    .sort((a, b) => planIndex(a.file.task_id) - planIndex(b.file.task_id));
  const localRef = integrationSourceRef(settings.executionId);
  const localBranch = localRef.replace(/^refs\/heads\//, '');
  await mkdir(settings.resultDir, { recursive: true });
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
          logDir: join(settings.resultDir, 'integration'),
          logger: runtime.logger,
        },
      );
    } catch (error) {
      // The report still goes out: it says nothing was merged, and why.
      warn(`the integration failed: ${(error as Error).message}`);
    }
  }

  const reportPath = await nextReportPath(root, config.report.dir, settings.executionId);
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

  const integrationHead = landed
    ? await commitStatuses({
        root,
        state,
        plan,
        planPath: settings.planPath,
        reportPath,
        localBranch,
        integrationBranch,
        writeBack: config.report.writeBack,
        message: `parallel-executor: integrate execution ${settings.executionId}\n\nMerged: ${integration!.merged.join(', ')}.\nPlan statuses written back; report: ${reportPath}.\n`,
        env: deps.env,
        warn,
        annotate: (message) => runtime.annotate('warning', message),
        now: deps.clock.now(),
      })
    : null;
  const report = renderReport(state, { now: deps.clock.now() });

  const failed =
    problems.length > 0 ||
    (integration !== null &&
      (integration.conflicts.length > 0 ||
        integration.dropped.length > 0 ||
        integration.testsPassed === false));
  const repairs = queuedRepairs(state, config, settings.agent);
  // What it left out, repair legs now take: the verdict is the integrate-repairs job's.
  const handedOver =
    failed && problems.length === 0 && integration !== null && onlyRepairable(integration, repairs);
  const result = await writeResult({
    root,
    dir: settings.resultDir,
    executionId: settings.executionId,
    baseSha,
    status: failed ? 'failed' : 'completed',
    integration:
      integrationHead === null ? null : { branch: integrationBranch, head_sha: integrationHead },
    // Fetched, or unchanged (at the base): the ones that passed every check.
    tasks: received.tasks
      .filter((t) => t.problem === null)
      .map((t) => ({ task_id: t.file.task_id, branch: t.file.branch, head_sha: t.file.head_sha })),
    state,
    report,
  });

  setOutputs(
    runtime,
    state,
    handedOver ? 'repairing' : failed ? 'failed' : 'completed',
    result.reportFile,
    settings.resultDir,
  );
  runtime.setOutput('repairs', repairMatrix(repairs));
  const handed = handedOver
    ? `every task left out is handed to a repair leg (repairs: ${repairs.map((r) => `${r.taskId} (${r.kind})`).join(', ')}); the integrate-repairs job gives the verdict`
    : null;
  if (handed !== null) runtime.annotate('notice', handed);
  await writeReportSummary(runtime, report, problems, handed === null ? [] : [handed]);
  if (failed && !handedOver) {
    runtime.setFailed(
      `integration of execution ${settings.executionId} did not land every completed task: see the report in the job summary`,
    );
  }
  return { state, result: result.file, problems };
}

export interface CommitStatusesInput {
  root: string;
  state: ExecutionState;
  plan: Plan;
  planPath: string;
  reportPath: string;
  localBranch: string;
  integrationBranch: string;
  writeBack: Config['report']['writeBack'];
  message: string;
  env: Record<string, string | undefined>;
  warn(message: string): void;
  annotate(message: string): void;
  now: Date;
}

/**
 * The plan's statuses (the engine's rule, as the CLI writes them) and the report, committed on the
 * integration branch; returns its new head. An agent's edit of the plan that was dropped is a
 * warning on its task, in the report.
 */
export async function commitStatuses(input: CommitStatusesInput): Promise<string> {
  const { root, state, plan, reportPath } = input;
  const planPath = markdownPlanFile(relative(root, input.planPath).split(sep).join('/'));
  const planText =
    planPath !== null && input.writeBack !== 'none'
      ? await planForBranch({
          state,
          plan,
          update: planUpdate(state, plan, reportLinkFrom(planPath, reportPath)),
          planFile: planPath,
          branch: input.localBranch,
          shownAs: input.integrationBranch,
          env: untrustedEnvironment(input.env),
        })
      : null;
  if (planText?.error) input.warn(`the plan's statuses were not written back: ${planText.error}`);
  for (const note of planText?.notes ?? []) input.annotate(`plan: ${note}`);
  const report = renderReport(state, { now: input.now });
  const committed = await commitOnBranch({
    repoRoot: root,
    branch: input.localBranch,
    files: [
      { path: reportPath, content: () => report },
      ...(planPath === null ? [] : [{ path: planPath, content: () => planText?.text ?? null }]),
    ],
    message: input.message,
    identity: DEFAULT_IDENTITY,
    env: input.env,
  });
  return committed.sha;
}

/**
 * A task whose branch changes `.github/workflows/**` would make the whole push fail (GitHub wants
 * the `workflows` permission for it): it is left out, with the reason, unless the config allows it.
 */
async function leaveOutWorkflowChanges(
  root: string,
  tasks: ReceivedTask[],
  baseSha: string,
): Promise<void> {
  for (const task of tasks.filter((t) => t.fetched)) {
    const paths = await workflowChanges(root, baseSha, task.file.head_sha);
    if (paths.length === 0) continue;
    task.problem = workflowChangeProblem(paths);
    task.fetched = false;
  }
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
    onRisk: ctx.config.integration.onRisk,
    env: ctx.env,
    logDir: ctx.logDir,
    setupCommand: ctx.config.workspace.setup ?? null,
    logger: ctx.logger,
  });
  return { ...result, branch: integrationBranch };
}

/**
 * The report's path on the integration branch: a later wave of the same execution runs on a
 * checkout of that branch, which already holds the first wave's report.
 */
async function nextReportPath(root: string, dir: string, executionId: string): Promise<string> {
  const folder = reportFolder(dir);
  const names = new Set(await readdir(join(root, folder)).catch(() => [] as string[]));
  return reportPathIn(folder, executionId, (path) => names.has(posix.basename(path)));
}

export interface ResultInput {
  root: string;
  dir: string;
  executionId: string;
  baseSha: string;
  status: ResultFile['status'];
  integration: ResultFile['integration'];
  tasks: readonly ResultFile['task_branches'][number][];
  state: ExecutionState;
  report: string;
}

/**
 * `result.json`, the bundle of every branch beyond the base (the others are the base itself), the
 * state and the report: what the workflow uploads for the publish job and for people and the app.
 */
export async function writeResult(
  input: ResultInput,
): Promise<{ file: ResultFile; reportFile: string }> {
  const taskBranches = [...input.tasks];
  const refs = [
    ...taskBranches
      .filter((t) => t.head_sha !== input.baseSha)
      .map((t) => `refs/heads/${t.branch}`),
    ...(input.integration ? [integrationSourceRef(input.executionId)] : []),
  ];
  const bundle = join(input.dir, RESULT_BUNDLE);
  await rm(bundle, { force: true });
  if (refs.length > 0) {
    await git(input.root, ['bundle', 'create', '--quiet', bundle, ...refs, `^${input.baseSha}`]);
  }
  const file: ResultFile = {
    version: 1,
    execution_id: input.executionId,
    base_sha: input.baseSha,
    status: input.status,
    integration: input.integration,
    task_branches: taskBranches,
    bundle: refs.length > 0 ? RESULT_BUNDLE : null,
  };
  await writeFile(join(input.dir, RESULT_FILE), `${JSON.stringify(file, null, 2)}\n`);
  await writeFile(join(input.dir, STATE_FILE), `${JSON.stringify(input.state, null, 2)}\n`);
  const reportFile = join(input.dir, STATE_REPORT_FILE);
  await writeFile(reportFile, input.report);
  return { file, reportFile };
}

export function setOutputs(
  runtime: ModeDeps['runtime'],
  state: ExecutionState,
  status: ResultFile['status'] | 'repairing',
  reportFile: string,
  resultDir: string,
): void {
  const integration = state.integration;
  runtime.setOutput('status', status);
  runtime.setOutput('report', reportFile);
  runtime.setOutput('result-dir', resultDir);
  setUsageOutputs(runtime, state);
  runtime.setOutput('merged', JSON.stringify(integration?.merged ?? []));
  runtime.setOutput(
    'conflicts',
    JSON.stringify((integration?.conflicts ?? []).map((c) => ({ task: c.taskId, files: c.files }))),
  );
  runtime.setOutput(
    'left-out',
    JSON.stringify((integration?.dropped ?? []).map((d) => ({ task: d.taskId, reason: d.reason }))),
  );
}

/**
 * The repairs the repair legs will make: one per task a repair can take, none when nothing merged
 * (a repair starts from the integration branch) or repairs are off (`integration.repair.attempts:
 * 0`; absent, they are off for a command agent, as in the CLI). The Action makes one attempt.
 */
export function queuedRepairs(
  state: ExecutionState,
  config: Config,
  agent: string,
): RepairTarget[] {
  const integration = state.integration;
  if (integration === null || integration.merged.length === 0) return [];
  const attempts = config.integration.repair?.attempts ?? (agent === 'command' ? 0 : 1);
  if (attempts <= 0) return [];
  return repairTargets(state, integration, repairKinds(config));
}

/** The repair legs' matrix (`{"include":[{"task":…,"kind":…}]}`), or empty when there is none. */
export function repairMatrix(repairs: readonly RepairTarget[]): string {
  if (repairs.length === 0) return '';
  return JSON.stringify({ include: repairs.map((t) => ({ task: t.taskId, kind: t.kind })) });
}

/**
 * Whether every task the integration left out (a conflict, a bisect culprit) is one a repair leg
 * takes, and the integration tests pass on what merged: then nothing is lost yet. A task dropped
 * with a dependency, or tests failing on the base, no repair can mend.
 */
function onlyRepairable(integration: IntegrationResult, repairs: readonly RepairTarget[]): boolean {
  if (integration.testsPassed === false) return false;
  const taken = new Set(repairs.map((r) => r.taskId));
  const leftOut = [
    ...integration.conflicts.map((c) => c.taskId),
    ...integration.dropped.map((d) => d.taskId),
  ];
  return leftOut.length > 0 && leftOut.every((id) => taken.has(id));
}

/** The report in the job summary, cut to its limit, with the step's problems under it. */
export async function writeReportSummary(
  runtime: ModeDeps['runtime'],
  report: string,
  problems: string[],
  notes: string[] = [],
): Promise<void> {
  await runtime.writeSummary(
    capText(
      `${report}\n---\n${summaryFooter(problems, notes)}`,
      SUMMARY_LIMIT,
      'the full report is in the parallel-executor-state artifact',
    ).text,
  );
}

function summaryFooter(problems: string[], notes: string[]): string {
  const lines = [
    'Publishing (pushes, the integration PR, the report comment, the next wave) is the publish job.',
    ...notes.map((n) => `🔧 ${mdText(n)}`),
    ...problems.map((p) => `⚠️ ${mdText(p)}`),
  ];
  return `${lines.join('\n\n')}\n`;
}
