import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integrate } from '../integrate/integrate.js';
import type { IntegrationResult, RepairKind, RepairRecord } from '../integrate/schema.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import type { Logger } from '../ports/logger.js';
import type { Plan } from '../plan/schema.js';
import type { ExecutionState } from '../state/schema.js';
import type { ValidationConfig } from '../validate/detect.js';
import type { ValidationReport } from '../validate/schema.js';
import { validateTask } from '../validate/validate-task.js';
import { keepDroppedCommits } from '../collect/keep.js';
import { attemptRef, keepAttempt, nextAttemptNumber } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';
import { freeBranchName, localBranches } from '../workspace/refs.js';
import { deleteBranch, removeWorktree } from '../workspace/worktree.js';
import { runRepairAgent, type RepairAgentRun } from './agent.js';
import { checkInteractionRepair, checkRepairResult } from './check.js';
import { repairContext } from './context.js';
import { repairTargets, type RepairTarget } from './targets.js';
import { chargeRepair } from './usage.js';
import { openRepairWorkspace, type RepairWorkspace } from './workspace.js';

export interface RepairOptions {
  /** Its `integration` is updated in place as repairs land. */
  state: ExecutionState;
  plan: Plan | null;
  /** The same kind of agent as the tasks. */
  runner: AgentRunner;
  /** Per task; 0 repairs nothing. */
  attempts: number;
  on: readonly RepairKind[];
  executionDir: string;
  env: Record<string, string>;
  identity: GitIdentity;
  validation: ValidationConfig;
  /** The integration tests (null: merge only), as the first integration ran them. */
  testCommand: string | null;
  strategy: IntegrationResult['strategy'];
  setupCommand: string | null;
  checkTimeoutMs?: number;
  agentTimeoutMs: number;
  graceMs: number;
  signal?: AbortSignal;
  logger?: Logger;
  notify(message: string, taskId: string | null): void;
}

/** One attempt's end, before integration. */
export interface Attempt {
  target: RepairTarget;
  ws: RepairWorkspace | null;
  problem: string | null;
  validation: ValidationReport | null;
  cost: RepairAgentRun | null;
  /** The attempt's ref, then any beside it (the branch it left, commits it dropped). */
  keptRefs: string[];
}

/**
 * The repair loop: each task left out for a conflict, failing integration tests or failed
 * validation goes back to an agent in a fresh worktree (the integration head with its branch
 * merged), up to `attempts` times. What the agent leaves is kept under a ref, checked (merge
 * finished, no marker, nothing dropped), validated like any task, and the attempts that pass are
 * integrated together with batch-and-bisect on top of the integration branch, which then moves
 * forward to the result. A task still left out is tried again with what failed this time.
 */
export async function repairTasks(options: RepairOptions): Promise<RepairRecord[]> {
  const integration = options.state.integration;
  if (integration === null || options.attempts <= 0) return [];
  const records = new Map<string, RepairRecord>();
  let pending = repairTargets(options.state, integration, options.on);
  for (let round = 1; round <= options.attempts && pending.length > 0; round += 1) {
    // Stopped by the user: what was tried is recorded, nothing more is started.
    if (options.signal?.aborted) break;
    const attempts = await Promise.all(
      pending.map((target) => attemptRepair(options, target, round)),
    );
    const ready = attempts.filter((attempt) => attempt.problem === null);
    const landed =
      ready.length > 0 && !options.signal?.aborted
        ? await integrateRepairs(options, ready, round)
        : null;
    const next: RepairTarget[] = [];
    for (const attempt of attempts) {
      const id = attempt.target.taskId;
      const merged = landed?.merged.includes(id) ?? false;
      const retry = landed === null || merged ? undefined : retryTarget(options, landed, id);
      const problem = merged
        ? null
        : (attempt.problem ??
          landed?.dropped.find((entry) => entry.taskId === id)?.reason ??
          'not merged');
      record(records, attempt, round, problem);
      if (merged) {
        markRepaired(options.state, attempt);
        options.notify(`repaired (${attempt.target.kind}) and merged`, id);
      } else {
        options.notify(`repair attempt ${round} failed: ${problem}`, id);
        next.push(retry ?? attempt.target);
      }
      if (attempt.ws !== null) await removeWorktree(options.state.repo_root, attempt.ws.worktree);
    }
    pending = next;
  }
  const result = [...records.values()];
  integration.repairs = [...(integration.repairs ?? []), ...result];
  noteInteractionRepairs(integration, result);
  return result;
}

/**
 * One repair attempt, up to a branch ready to integrate (or the problem): the part a distributed
 * runner (the Action's repair leg) runs on its own, without the integration.
 */
export async function attemptRepair(
  options: RepairOptions,
  target: RepairTarget,
  round: number,
): Promise<Attempt> {
  const { state } = options;
  const run = state.tasks[target.taskId]!;
  const attempt: Attempt = {
    target,
    ws: null,
    problem: null,
    validation: null,
    cost: null,
    keptRefs: [],
  };
  const dir = join(
    options.executionDir,
    'repair',
    target.taskId.replace(/[^\w.-]+/g, '-'),
    `attempt-${round}`,
  );
  try {
    await mkdir(dir, { recursive: true });
    options.notify(`repair attempt ${round} (${target.kind}): ${target.reason}`, target.taskId);
    const ws = await openRepairWorkspace({
      repoRoot: state.repo_root,
      dir: join(options.executionDir, 'worktrees'),
      taskId: target.taskId,
      taskBranch: run.branch,
      integrationHead: state.integration!.headSha,
      env: options.env,
      identity: options.identity,
    });
    attempt.ws = ws;
    const contextFile = join(dir, 'REPAIR_CONTEXT.md');
    await writeFile(
      contextFile,
      await repairContext({
        target,
        state,
        plan: options.plan,
        ws,
        attempt: round,
        attempts: options.attempts,
      }),
    );
    attempt.cost = await runRepairAgent(
      options.runner,
      {
        executionId: state.execution_id,
        taskId: target.taskId,
        taskTitle: run.task,
        agent: run.agent,
        branch: ws.branch,
        worktree: ws.worktree,
        contextFile,
        statusFile: join(dir, 'status.json'),
        logFile: join(dir, 'agent.log'),
        port: run.port,
        env: { ...options.env, PE_REPAIR: target.kind, PE_REPAIR_OF: target.taskId },
        signal: options.signal,
      },
      { timeoutMs: options.agentTimeoutMs, graceMs: options.graceMs, signal: options.signal },
    );
    chargeRepair(run, attempt.cost);
    attempt.keptRefs = await keep(options, target.taskId, ws);
    attempt.problem = attempt.cost.problem ?? (await checkRepairResult(ws));
    if (attempt.problem === null && target.kind === 'interaction')
      attempt.problem = await checkInteractionRepair(ws);
    if (attempt.problem !== null) return attempt;
    const report = await validateTask({
      worktree: ws.worktree,
      taskId: target.taskId,
      agent: run.agent,
      outputDir: join(dir, 'validation'),
      config: options.validation,
      env: options.env,
      signal: options.signal,
      checkTimeoutMs: options.checkTimeoutMs,
    });
    attempt.validation = report;
    if (report.status === 'FAILED') {
      const failed = report.checks.filter((c) => !c.passed && !c.skipped && c.critical);
      attempt.problem = `the repaired branch fails its validation: ${failed.map((c) => c.name).join(', ')}`;
    }
  } catch (error) {
    attempt.problem = options.signal?.aborted
      ? 'stopped by the user'
      : `the repair could not run: ${(error as Error).message.split('\n')[0]}`;
  }
  return attempt;
}

/**
 * Every attempt's worktree and branch, as the agent left them, under a named ref; beside it,
 * the tip of a branch it left and commits it dropped (found in the reflogs), as for a task.
 */
async function keep(
  options: RepairOptions,
  taskId: string,
  ws: RepairWorkspace,
): Promise<string[]> {
  const owner = `${taskId}-repair`;
  const n = await nextAttemptNumber(
    options.state.repo_root,
    options.state.execution_id,
    owner,
    options.env,
  );
  const kept = await keepAttempt({
    repoRoot: options.state.repo_root,
    worktree: ws.worktree,
    branch: ws.branch,
    ref: attemptRef(options.state.execution_id, owner, n),
    env: options.env,
    identity: options.identity,
    why: `repair attempt of task ${taskId}`,
  });
  if (kept === null) return [];
  const dropped = await keepDroppedCommits({
    repoRoot: options.state.repo_root,
    worktree: ws.worktree,
    branch: ws.branch,
    startSha: ws.base,
    env: options.env,
    ref: kept.ref,
    kept: [kept.sha, ...(kept.branchSha === null ? [] : [kept.branchSha])],
    why: `repair attempt of task ${taskId}`,
  });
  return [
    kept.ref,
    ...(kept.branchRef === null ? [] : [kept.branchRef]),
    ...dropped.map((d) => d.ref),
  ];
}

/**
 * Integrate the repaired branches with batch-and-bisect on a scratch branch from the integration
 * head, then move the integration branch forward to its head (a fast-forward: the scratch branch
 * only adds merges) and fold the result into the execution's integration.
 */
export async function integrateRepairs(
  options: RepairOptions,
  ready: readonly Attempt[],
  round: number,
): Promise<IntegrationResult> {
  const { state } = options;
  const integration = state.integration!;
  const root = state.repo_root;
  const scratch = await freeBranchName(
    root,
    `${integration.branch}-repair-${round}`,
    await localBranches(root),
  );
  const result = await integrate({
    repoRoot: root,
    baseSha: integration.headSha,
    branchName: scratch,
    workdir: join(options.executionDir, 'worktrees'),
    candidates: ready.map((attempt) => ({
      taskId: attempt.target.taskId,
      agent: state.tasks[attempt.target.taskId]!.agent,
      branch: attempt.ws!.branch,
      dependsOn: [],
    })),
    testCommand: options.testCommand,
    strategy: options.strategy,
    detectConflicts: false,
    env: options.env,
    signal: options.signal,
    logDir: join(options.executionDir, 'integration', `repair-${round}`),
    testTimeoutMs: options.checkTimeoutMs,
    setupCommand: options.setupCommand,
    logger: options.logger,
  });
  if (result.headSha !== integration.headSha) {
    await git(
      root,
      [
        'update-ref',
        '-m',
        'parallel-executor: repairs integrated',
        `refs/heads/${integration.branch}`,
        result.headSha,
        integration.headSha,
      ],
      { env: options.env },
    );
  }
  await deleteBranch(root, scratch);
  const merged = new Set(result.merged);
  // An interaction repair's task was merged already: it lands again, and counts once.
  integration.merged.push(...result.merged.filter((id) => !integration.merged.includes(id)));
  integration.dropped = integration.dropped.filter((entry) => !merged.has(entry.taskId));
  integration.conflicts = integration.conflicts.filter((entry) => !merged.has(entry.taskId));
  integration.headSha = result.headSha;
  integration.testRuns += result.testRuns;
  if (result.testsPassed !== null && result.merged.length > 0)
    integration.testsPassed = result.testsPassed;
  if ((result.notes ?? []).length > 0)
    integration.notes = [...(integration.notes ?? []), ...result.notes!];
  return result;
}

/** Each risk an interaction repair took says how it ended (the report, the PR, the check runs). */
function noteInteractionRepairs(integration: IntegrationResult, records: RepairRecord[]): void {
  for (const risk of integration.risks ?? []) {
    const [a, b] = risk.tasks;
    const repair = records.find(
      (r) =>
        r.kind === 'interaction' &&
        ((r.taskId === a && r.with.includes(b)) || (r.taskId === b && r.with.includes(a))),
    );
    if (repair === undefined) continue;
    const attempts = `${repair.attempts} attempt${repair.attempts === 1 ? '' : 's'}`;
    risk.note =
      repair.outcome === 'merged'
        ? `repaired: a test of the combination (and any fix) merged from ${repair.branch} in ${attempts}`
        : `repair failed (${attempts}): ${repair.reason ?? 'not merged'}; the risk stands`;
  }
}

/** What to try next for a task whose repaired branch integration left out again. */
function retryTarget(
  options: RepairOptions,
  landed: IntegrationResult,
  id: string,
): RepairTarget | undefined {
  return repairTargets(options.state, landed, options.on).find((target) => target.taskId === id);
}

function record(
  records: Map<string, RepairRecord>,
  attempt: Attempt,
  round: number,
  problem: string | null,
): void {
  const id = attempt.target.taskId;
  const previous = records.get(id);
  const add = (a: number | null | undefined, b: number | null | undefined) =>
    a == null && b == null ? null : (a ?? 0) + (b ?? 0);
  records.set(id, {
    taskId: id,
    kind: previous?.kind ?? attempt.target.kind,
    attempts: round,
    outcome: problem === null ? 'merged' : 'failed',
    with:
      previous?.with ??
      (attempt.target.kind === 'conflict' || attempt.target.kind === 'interaction'
        ? attempt.target.others
        : []),
    files: previous?.files ?? attempt.target.files,
    branch: attempt.ws?.branch ?? previous?.branch ?? '',
    reason: problem,
    keptRefs: [...(previous?.keptRefs ?? []), ...attempt.keptRefs],
    durationMs: (previous?.durationMs ?? 0) + (attempt.cost?.durationMs ?? 0),
    inputTokens: add(previous?.inputTokens, attempt.cost?.inputTokens),
    outputTokens: add(previous?.outputTokens, attempt.cost?.outputTokens),
    costUsd: add(previous?.costUsd, attempt.cost?.costUsd),
  });
}

const AFTER: Record<RepairKind, string> = {
  validation: 'failing its validation',
  conflict: 'a merge conflict',
  tests: 'failing the integration tests',
  interaction: 'an interaction risk (a test of the combination added)',
};

/** A repaired task landed: a task that had failed its validation now counts as completed. */
function markRepaired(state: ExecutionState, attempt: Attempt): void {
  const run = state.tasks[attempt.target.taskId]!;
  const note = `repaired after ${AFTER[attempt.target.kind]}: merged from ${attempt.ws!.branch}`;
  run.warnings = [...(run.warnings ?? []), note];
  if (run.status !== 'failed') return;
  run.status = 'completed';
  run.reason = null;
  if (attempt.validation !== null) run.validation = attempt.validation;
  state.failed_tasks = state.failed_tasks.filter((id) => id !== run.task_id);
  if (!state.completed_tasks.includes(run.task_id)) state.completed_tasks.push(run.task_id);
}
