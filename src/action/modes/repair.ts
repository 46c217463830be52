/**
 * Repair mode (one matrix leg, like an agent leg: the agent's key and no token): take the
 * integrate job's result (read as untrusted input and verified, as the publish job reads it), find
 * this task's repair target in it (a conflict, a bisect culprit, a failed validation), run one
 * repair attempt with the engine — a fresh worktree at the integration head with the task's branch
 * merged in, the agent, the checks, validation — and write the repaired branch to `bundle-dir` as
 * `repair.json` (with what the agent spent, for the run's totals) and `repair.bundle`. It pushes
 * nothing and integrates nothing: a later integrate step verifies the bundle and integrates it.
 * Actions cannot loop, so this is one attempt.
 *
 * The step fails when the repair failed, after the bundle is written (the refs the attempt left
 * are in it, so nothing the agent did is lost).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { readConfigFile } from '../../engine/config/load.js';
import type { Config } from '../../engine/config/schema.js';
import { UsageError } from '../../engine/errors.js';
import { integrationTestCommand } from '../../engine/integrate/test-command.js';
import { RepairKind } from '../../engine/integrate/schema.js';
import { attemptRepair, type Attempt, type RepairOptions } from '../../engine/repair/repair.js';
import { repairTargets } from '../../engine/repair/targets.js';
import { mdCode, mdText } from '../../engine/report/markdown.js';
import { parseDurationMs } from '../../engine/run/duration.js';
import { addUsage } from '../../engine/state/usage.js';
import { git } from '../../engine/workspace/git-exec.js';
import { DEFAULT_IDENTITY } from '../../engine/workspace/identity.js';
import {
  excludeToolDir,
  findRepoRoot,
  inspectRepo,
  TOOL_DIR,
} from '../../engine/workspace/repo.js';
import { receiveResult, type ReceivedBranch } from '../integrate/receive.js';
import { integrationSourceRef } from '../integrate/result.js';
import { safeGit } from '../integrate/safe-git.js';
import type { Plan } from '../../engine/plan/schema.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { loadPlan, requireRunnable } from '../repo-files.js';
import type { RepairSettings } from '../settings.js';
import { findTask, legAgent } from './agent.js';
import type { ModeDeps } from './types.js';

export const REPAIR_FILE = 'repair.json';
export const REPAIR_BUNDLE = 'repair.bundle';

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA');

const Count = z.number().int().nonnegative();
const RepairUsage = z
  .object({
    input_tokens: Count,
    output_tokens: Count,
    cache_read_tokens: Count,
    cache_creation_tokens: Count,
    cost_usd: z.number().nonnegative().nullable(),
  })
  .strict();

/** What a repair leg hands the integrate-repairs step (untrusted there: the agent ran here). */
export const RepairFile = z
  .object({
    version: z.literal(1),
    execution_id: z.string().min(1).max(64),
    task_id: z.string().min(1).max(64),
    kind: RepairKind,
    /** The integration head the attempt started from. */
    base_sha: Sha,
    /** The repaired branch and its head, or null when the attempt left nothing to integrate. */
    branch: z.string().min(1).max(255).nullable(),
    head_sha: Sha.nullable(),
    /** Why the attempt failed; null: ready to integrate. */
    problem: z.string().max(4000).nullable(),
    /** The refs the attempt's work is kept under (in the bundle). */
    kept_refs: z.array(z.string().min(1).max(255)).max(100),
    duration_ms: z.number().nonnegative(),
    /** What the repair agent reported it spent (the state's shape); null: it said nothing. */
    usage: RepairUsage.nullable(),
  })
  .strict();
export type RepairFile = z.infer<typeof RepairFile>;

export type RepairLegStatus = 'repaired' | 'failed' | 'skipped';

export interface RepairModeResult {
  status: RepairLegStatus;
  file: RepairFile | null;
}

const AGENT_TIME_LIMIT_MS = 60 * 60_000;

export async function runRepairMode(
  settings: RepairSettings,
  deps: ModeDeps,
): Promise<RepairModeResult> {
  const { runtime } = deps;
  const config = await readConfigFile(settings.runner.workspace);
  const plan = requireRunnable(await loadPlan(deps, settings), settings.planFile);
  findTask(plan, settings.task);
  const root = await findRepoRoot(settings.runner.workspace);
  const repo = await inspectRepo(root);
  const { state, head } = await receiveIntegration(root, repo, settings, config, plan);
  const integration = state.integration;
  const target =
    integration === null
      ? undefined
      : repairTargets(state, integration, repairKinds(config)).find(
          (t) => t.taskId === settings.task,
        );
  if (integration === null || target === undefined) {
    const reason = `task ${settings.task} has nothing to repair in this result`;
    runtime.setOutput('status', 'skipped');
    await runtime.writeSummary(
      `## parallel-executor: repair of task ${mdText(settings.task)}\n\n${mdText(reason)}.\n`,
    );
    return { status: 'skipped', file: null };
  }

  await excludeToolDir(root, repo.commonDir);

  const { runner, stepEnv } = legAgent(settings, config, deps, root);
  const executionDir = join(root, TOOL_DIR, 'repair-leg');
  const options: RepairOptions = {
    state,
    plan,
    runner,
    attempts: 1,
    on: repairKinds(config),
    executionDir,
    env: stepEnv,
    identity: DEFAULT_IDENTITY,
    validation: config.validation,
    testCommand: await integrationTestCommand(root, config),
    strategy: config.integration.strategy,
    setupCommand: config.workspace.setup ?? null,
    agentTimeoutMs: AGENT_TIME_LIMIT_MS,
    graceMs: parseDurationMs(
      config.timeouts.grace,
      '.github/parallel-executor.yml: timeouts.grace',
    ),
    logger: runtime.logger,
    notify: (message, taskId) => runtime.logger.info(message, { task: taskId ?? '' }),
  };
  runtime.logger.info('repairing', { task: target.taskId, kind: target.kind, base: head });
  const attempt = await attemptRepair(options, target, 1);
  const file = await writeRepairBundle(root, settings, attempt, head);
  const status: RepairLegStatus = file.problem === null ? 'repaired' : 'failed';
  runtime.setOutput('status', status);
  runtime.setOutput('branch', file.branch ?? '');
  await runtime.writeSummary(repairSummary(file));
  if (status === 'failed')
    runtime.setFailed(`repair of task ${target.taskId} failed: ${file.problem}`);
  return { status, file };
}

/**
 * The integrate job's result, verified as the publish job verifies it, its branches under the
 * names the state gives them (the integration branch under its local name) in this checkout, and
 * the state pointed at this checkout and at the integration head. Refused whole on any problem.
 */
export async function receiveIntegration(
  root: string,
  repo: { headSha: string; branch: string | null },
  settings: { resultDir: string; executionId: string; baseBranch: string | null; planPath: string },
  config: Config,
  plan: Plan,
): Promise<{ state: ExecutionState; head: string; tasks: ReceivedBranch[] }> {
  const integrationBranch = `${config.integration.branchPrefix}${settings.executionId}`;
  const received = await receiveResult({
    root,
    dir: settings.resultDir,
    executionId: settings.executionId,
    baseSha: repo.headSha,
    plan,
    integrationBranch,
    protectedBranches: new Set(
      [integrationBranch, settings.baseBranch, repo.branch].filter((b): b is string => b !== null),
    ),
    allowWorkflowChanges: config.github.allowWorkflowChanges,
    planFile: relative(root, settings.planPath).split(sep).join('/'),
  });
  if (!received.ok) {
    throw new UsageError(
      `the integrate job's result in ${settings.resultDir} was refused: ${received.problem}`,
      'Pass the same execution id and the result artifact of the integrate job of this run.',
    );
  }
  const refused = [...received.tasks, ...(received.integration ? [received.integration] : [])]
    .filter((b) => b.problem !== null)
    .map((b) => `${b.branch}: ${b.problem}`);
  if (refused.length > 0) {
    throw new UsageError(
      `the integrate job's result was refused: ${refused.join('; ')}`,
      'Nothing was repaired; see the integrate job.',
    );
  }
  const head = received.integration?.head ?? repo.headSha;
  await safeGit(root, ['update-ref', '--stdin'], {
    input: [
      ...received.tasks.map((t) => `update refs/heads/${t.branch} ${t.head}\n`),
      ...(received.integration
        ? [`update ${integrationSourceRef(settings.executionId)} ${head}\n`]
        : []),
    ].join(''),
  });
  const state = received.state;
  state.repo_root = root;
  if (state.integration !== null) state.integration.headSha = head;
  return { state, head, tasks: received.tasks };
}

/** The kinds the config asks repairs for (the action has no flag: absent means every kind). */
export function repairKinds(config: Config): RepairKind[] {
  return config.integration.repair?.on ?? ['conflict', 'tests', 'validation'];
}

async function writeRepairBundle(
  root: string,
  settings: RepairSettings,
  attempt: Attempt,
  base: string,
): Promise<RepairFile> {
  await mkdir(settings.bundleDir, { recursive: true });
  const bundle = join(settings.bundleDir, REPAIR_BUNDLE);
  await rm(bundle, { force: true });
  const ws = attempt.ws;
  const headSha =
    ws === null
      ? null
      : (
          await git(root, ['rev-parse', '--verify', `refs/heads/${ws.branch}^{commit}`])
        ).stdout.trim();
  const ready = attempt.problem === null && ws !== null && headSha !== base;
  const refs = [...(ready ? [`refs/heads/${ws.branch}`] : []), ...attempt.keptRefs];
  if (refs.length > 0)
    await git(root, ['bundle', 'create', '--quiet', bundle, ...refs, `^${base}`]);
  const file: RepairFile = {
    version: 1,
    execution_id: settings.executionId,
    task_id: attempt.target.taskId,
    kind: attempt.target.kind,
    base_sha: base,
    branch: ready ? ws.branch : null,
    head_sha: ready ? headSha : null,
    problem: ready ? null : (attempt.problem ?? 'the repair left no commit'),
    kept_refs: attempt.keptRefs,
    duration_ms: attempt.cost?.durationMs ?? 0,
    usage: attempt.cost === null ? null : addUsage(null, attempt.cost),
  };
  await writeFile(join(settings.bundleDir, REPAIR_FILE), `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

function repairSummary(file: RepairFile): string {
  const lines = [
    `## parallel-executor: repair of task ${mdText(file.task_id)} (${file.kind}) — ${file.problem === null ? 'repaired' : 'failed'}`,
    '',
    ...(file.branch
      ? [`- Branch: ${mdCode(file.branch)} (${file.head_sha!.slice(0, 7)}, bundled)`]
      : []),
    ...(file.problem ? [`- Problem: ${mdText(file.problem)}`] : []),
    `- Kept: ${file.kept_refs.length} ref(s)`,
  ];
  return `${lines.join('\n')}\n`;
}
