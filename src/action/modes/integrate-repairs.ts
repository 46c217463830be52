/**
 * Integrate-repairs mode (no AI, and no token: it runs the integration tests on agent-written
 * code): after the repair legs, take the integrate job's result (verified as the publish job
 * verifies it) and the repair legs' bundles (`repair-<task>`, verified like agent bundles: this
 * execution's, one of the result's repair targets, a branch named after the task's, at the
 * commit claimed, descending from the integration head and the task's tip, no workflow change
 * unless allowed), integrate the repaired branches with the engine's batch-and-bisect on top of
 * the integration branch, record every repair (and count what its agent spent in its task's
 * usage), commit the plan's statuses and the report again, and rewrite the result in `result-dir`
 * for the publish job. One attempt: Actions cannot loop. The step fails when a task is still left
 * out: after the integrate job handed its left-out tasks to repairs, this is the run's verdict.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readConfigFile } from '../../engine/config/load.js';
import { renderReport } from '../../engine/report/render.js';
import { UsageError } from '../../engine/errors.js';
import type { RepairRecord } from '../../engine/integrate/schema.js';
import { repoGit } from '../../engine/integrate/repo.js';
import { integrationTestCommand } from '../../engine/integrate/test-command.js';
import { integrateRepairs, type Attempt } from '../../engine/repair/repair.js';
import { repairTargets, type RepairTarget } from '../../engine/repair/targets.js';
import { chargeRepair } from '../../engine/repair/usage.js';
import type { UsageFigures } from '../../engine/state/usage.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { DEFAULT_IDENTITY } from '../../engine/workspace/identity.js';
import {
  excludeToolDir,
  findRepoRoot,
  inspectRepo,
  TOOL_DIR,
} from '../../engine/workspace/repo.js';
import { untrustedEnvironment } from '../environment.js';
import { integrationSourceRef, readCapped } from '../integrate/result.js';
import { isAncestor } from '../integrate/receive.js';
import { safeGit, workflowChangeProblem, workflowChanges } from '../integrate/safe-git.js';
import { loadPlan, requireRunnable } from '../repo-files.js';
import type { IntegrateRepairsSettings } from '../settings.js';
import { commitStatuses, setOutputs, writeReportSummary, writeResult } from './integrate.js';
import {
  receiveIntegration,
  REPAIR_BUNDLE,
  REPAIR_FILE,
  RepairFile,
  repairKinds,
} from './repair.js';
import type { ModeDeps } from './types.js';
import type { AgentRunner } from '../../engine/ports/agent-runner.js';
import { escapeRegExp } from '../../engine/regexp.js';
import { isArtifactOf } from '../task-file.js';

const REPAIR_FILE_LIMIT = 64 * 1024;
/** The repair legs' artifacts, as download-artifact (`pattern: repair-*`) lays them out. */
const FOLDER = /^repair-([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

export async function runIntegrateRepairsMode(
  settings: IntegrateRepairsSettings,
  deps: ModeDeps,
): Promise<{ state: ExecutionState; records: RepairRecord[]; problems: string[] }> {
  const { runtime } = deps;
  const config = await readConfigFile(settings.runner.workspace);
  const plan = requireRunnable(await loadPlan(deps, settings), settings.planFile);
  const root = await findRepoRoot(settings.runner.workspace);
  const repo = await inspectRepo(root);
  const integrationBranch = `${config.integration.branchPrefix}${settings.executionId}`;
  const received = await receiveIntegration(root, repo, settings, config, plan);
  if (received.state.integration === null) {
    throw new UsageError(
      `the integrate job's result in ${settings.resultDir} cannot take repairs: nothing was integrated`,
      'Run integrate-repairs only when the integrate job output repairs.',
    );
  }
  const problems: string[] = [];
  const warn = (message: string) => {
    problems.push(message);
    runtime.annotate('warning', message);
  };
  const state = received.state;
  const integration = received.state.integration;
  const { tasks, head } = received;
  const localBranch = integrationSourceRef(settings.executionId).replace(/^refs\/heads\//, '');
  await excludeToolDir(root, repo.commonDir);

  const targets = repairTargets(state, integration, repairKinds(config));
  const attempts: Attempt[] = [];
  const records: RepairRecord[] = [];
  const files = new Map<string, RepairFile>();
  const folders = await repairFolders(settings.bundleDir);
  // The task each folder is for: `repair-<task>`, or that with the leg's `-<16 hex digits>`.
  const taskOf = (folder: string) =>
    targets.find((t) => isArtifactOf(folder, t.taskId, 'repair-'))?.taskId ??
    FOLDER.exec(folder)![1]!;
  for (const folder of folders) {
    const taskId = taskOf(folder);
    const target = targets.find((t) => t.taskId === taskId);
    const twins = folders.filter((other) => taskOf(other) === taskId);
    if (twins.length > 1) {
      // Another leg's agent uploaded one under this task's name (the run's artifact token is
      // within its reach): which is the task's own cannot be told, so neither is taken.
      warn(
        `repair of task ${taskId} refused: ${twins.length} repair bundles (${twins.join(', ')}), one uploaded by another job, whose agent can reach the run's artifact token`,
      );
      continue;
    }
    const dir = join(settings.bundleDir, folder);
    const read = await readCapped(dir, REPAIR_FILE, REPAIR_FILE_LIMIT, RepairFile);
    if (!read.ok) {
      warn(`repair bundle ${folder} ignored: ${read.problem}`);
      continue;
    }
    const foreign =
      target === undefined
        ? `task ${taskId} is not one this result asks a repair for`
        : fileProblem(read.value, settings.executionId, taskId, head);
    // This run's repair of this task: its agent was paid for, whether or not its branch lands.
    const file = foreign === null ? read.value : { ...read.value, usage: null };
    if (file.usage !== null) chargeRepair(state.tasks[taskId]!, usageFigures(file.usage));
    const problem =
      foreign ??
      (file.problem === null
        ? await fetchRepair(root, dir, file, state, config.github.allowWorkflowChanges)
        : null);
    if (target === undefined || (problem !== null && file.problem === null)) {
      warn(`repair of task ${taskId} refused: ${problem}`);
      if (target !== undefined) records.push(record(target, file, problem));
      continue;
    }
    if (file.problem !== null) {
      records.push(record(target, file, file.problem));
      continue;
    }
    files.set(taskId, file);
    attempts.push(attemptOf(root, target, file, deps.env));
  }

  const env = untrustedEnvironment(deps.env);
  // Under its local name, as integrate mode built it; reported under the pushed name.
  integration.branch = localBranch;
  const landed =
    attempts.length === 0
      ? null
      : await integrateRepairs(
          {
            state,
            plan,
            runner: NO_AGENT,
            attempts: 1,
            on: repairKinds(config),
            executionDir: join(root, TOOL_DIR, 'integrate-repairs'),
            env,
            identity: DEFAULT_IDENTITY,
            validation: config.validation,
            testCommand: await integrationTestCommand(root, config),
            strategy: config.integration.strategy,
            setupCommand: config.workspace.setup ?? null,
            agentTimeoutMs: 0,
            graceMs: 0,
            logger: runtime.logger,
            notify: (message, taskId) => runtime.logger.info(message, { task: taskId ?? '' }),
          },
          attempts,
          1,
        );
  integration.branch = integrationBranch;
  for (const attempt of attempts) {
    const id = attempt.target.taskId;
    const merged = landed?.merged.includes(id) ?? false;
    const file = files.get(id)!;
    records.push(
      record(
        attempt.target,
        file,
        merged ? null : (landed?.dropped.find((d) => d.taskId === id)?.reason ?? 'not merged'),
      ),
    );
    if (merged) markRepaired(state, id, attempt.ws!.branch, attempt.target.kind);
  }
  integration.repairs = [...(integration.repairs ?? []), ...records];

  const newHead = await commitStatuses({
    root,
    state,
    plan,
    planPath: settings.planPath,
    reportPath: state.report_path ?? '',
    localBranch,
    integrationBranch,
    writeBack: config.report.writeBack,
    message: `parallel-executor: repairs of execution ${settings.executionId}\n\nRepaired and merged: ${records
      .filter((r) => r.outcome === 'merged')
      .map((r) => r.taskId)
      .join(', ')}.\n`,
    env: deps.env,
    warn,
    annotate: (message) => runtime.annotate('warning', message),
    now: deps.clock.now(),
  });
  const report = renderReport(state, { now: deps.clock.now() });
  const failed =
    problems.length > 0 ||
    integration.conflicts.length > 0 ||
    integration.dropped.length > 0 ||
    integration.testsPassed === false;
  const result = await writeResult({
    root,
    dir: settings.resultDir,
    executionId: settings.executionId,
    baseSha: repo.headSha,
    status: failed ? 'failed' : 'completed',
    integration: { branch: integrationBranch, head_sha: newHead },
    tasks: tasks.map((t) => ({ task_id: t.taskId!, branch: t.branch, head_sha: t.head })),
    state,
    report,
  });
  setOutputs(
    runtime,
    state,
    failed ? 'failed' : 'completed',
    result.reportFile,
    settings.resultDir,
  );
  await writeReportSummary(runtime, report, problems);
  if (failed) {
    runtime.setFailed(
      `after the repairs, execution ${settings.executionId} still did not land every completed task: see the report in the job summary`,
    );
  }
  return { state, records, problems };
}

/** This job integrates, it starts no agent: the engine's options want a runner, this one refuses. */
const NO_AGENT: AgentRunner = {
  kind: 'none',
  preflight: () => Promise.resolve(),
  start: () => Promise.reject(new Error('integrate-repairs mode runs no agent')),
};

async function repairFolders(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((name) => FOLDER.test(name)).sort();
}

/** The file must be this execution's, this folder's task, and start from this integration head. */
function fileProblem(
  file: RepairFile,
  executionId: string,
  taskId: string,
  head: string,
): string | null {
  if (file.execution_id !== executionId) return `it belongs to execution ${file.execution_id}`;
  if (file.task_id !== taskId) return `its ${REPAIR_FILE} names task ${file.task_id}`;
  if (file.base_sha !== head) {
    return `it starts from ${file.base_sha.slice(0, 12)}, not the integration head ${head.slice(0, 12)}`;
  }
  return null;
}

/**
 * Verify the bundle and fetch the repaired branch alone under its name: the branch must be the
 * task's branch with `-repair` after it, the bundle must hold it at the commit claimed (besides
 * only the attempt's kept refs), and it must hold the integration head and the task's tip.
 */
async function fetchRepair(
  root: string,
  dir: string,
  file: RepairFile,
  state: ExecutionState,
  allowWorkflowChanges: boolean,
): Promise<string | null> {
  const taskBranch = state.tasks[file.task_id]!.branch;
  const branch = file.branch!;
  if (!new RegExp(`^${escapeRegExp(taskBranch)}-repair(-[0-9]+)?$`).test(branch)) {
    return `branch ${branch} is not a repair branch of ${taskBranch}`;
  }
  if (
    (
      await safeGit(root, ['rev-parse', '-q', '--verify', `refs/heads/${branch}`], {
        allowExitCodes: [1],
      })
    ).exitCode === 0
  ) {
    return `branch ${branch} already exists here`;
  }
  const path = join(dir, REPAIR_BUNDLE);
  const verify = await safeGit(root, ['bundle', 'verify', '--quiet', path], {
    allowExitCodes: [1, 128],
  });
  if (verify.exitCode !== 0)
    return `the bundle does not verify: ${(verify.stderr || verify.stdout).trim().split('\n').pop()}`;
  const heads = (await safeGit(root, ['bundle', 'list-heads', path])).stdout
    .split('\n')
    .filter(Boolean);
  const kept = new Set(file.kept_refs);
  for (const line of heads) {
    const [sha, ref] = line.split(' ') as [string, string | undefined];
    const expected =
      ref === `refs/heads/${branch}` ? sha === file.head_sha : ref !== undefined && kept.has(ref);
    if (!expected) return `the bundle holds ${line}, which ${REPAIR_FILE} does not name`;
  }
  if (!heads.includes(`${file.head_sha} refs/heads/${branch}`))
    return `the bundle does not hold ${branch}`;
  const fetched = await safeGit(
    root,
    [
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-write-fetch-head',
      path,
      `refs/heads/${branch}:refs/heads/${branch}`,
    ],
    { allowExitCodes: [1, 128] },
  );
  if (fetched.exitCode !== 0)
    return `the bundle could not be fetched: ${fetched.stderr.trim().split('\n').pop()}`;
  const problem = await lineProblem(root, file, taskBranch, allowWorkflowChanges);
  if (problem !== null) await safeGit(root, ['update-ref', '-d', `refs/heads/${branch}`]);
  return problem;
}

async function lineProblem(
  root: string,
  file: RepairFile,
  taskBranch: string,
  allowWorkflowChanges: boolean,
): Promise<string | null> {
  for (const [what, ancestor] of [
    ['the integration head', file.base_sha],
    [`the task's branch ${taskBranch}`, `refs/heads/${taskBranch}`],
  ] as const) {
    if (!(await isAncestor(root, ancestor, file.head_sha!))) {
      return `the repaired branch does not contain ${what}`;
    }
  }
  if (allowWorkflowChanges) return null;
  const paths = await workflowChanges(root, file.base_sha, file.head_sha!);
  return paths.length === 0 ? null : workflowChangeProblem(paths);
}

/** The attempt as the engine's integration of repairs takes it: its target and repaired branch. */
function attemptOf(
  root: string,
  target: RepairTarget,
  file: RepairFile,
  env: Record<string, string | undefined>,
): Attempt {
  return {
    target,
    ws: {
      worktree: root,
      branch: file.branch!,
      base: file.base_sha,
      taskTip: file.head_sha!,
      conflicted: [],
      git: repoGit(root, untrustedEnvironment(env)),
    },
    problem: null,
    validation: null,
    cost: null,
    keptRefs: file.kept_refs,
  };
}

function record(target: RepairTarget, file: RepairFile, problem: string | null): RepairRecord {
  return {
    taskId: target.taskId,
    kind: target.kind,
    attempts: 1,
    outcome: problem === null ? 'merged' : 'failed',
    with: target.kind === 'conflict' || target.kind === 'interaction' ? target.others : [],
    files: target.files,
    branch: file.branch ?? '',
    reason: problem,
    keptRefs: file.kept_refs,
    durationMs: file.duration_ms,
    inputTokens: file.usage?.input_tokens ?? null,
    outputTokens: file.usage?.output_tokens ?? null,
    costUsd: file.usage?.cost_usd ?? null,
  };
}

function usageFigures(usage: NonNullable<RepairFile['usage']>): UsageFigures {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_tokens,
    cacheCreationTokens: usage.cache_creation_tokens,
    costUsd: usage.cost_usd,
  };
}

/** A repaired task landed: a task that had failed its validation now counts as completed. */
function markRepaired(state: ExecutionState, id: string, branch: string, kind: string): void {
  const run = state.tasks[id]!;
  run.warnings = [...(run.warnings ?? []), `repaired (${kind}): merged from ${branch}`];
  if (run.status !== 'failed') return;
  run.status = 'completed';
  run.reason = null;
  state.failed_tasks = state.failed_tasks.filter((t) => t !== id);
  if (!state.completed_tasks.includes(id)) state.completed_tasks.push(id);
}
