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
import { besideAttempt, keepDroppedCommits } from '../collect/keep.js';
import { attemptRef, keepAttempt, nextAttemptNumber } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import type { GitIdentity } from '../workspace/identity.js';
import { freeBranchName, localBranches } from '../workspace/refs.js';
import { branchSha, deleteBranch, isWorktreeRoot, removeWorktree } from '../workspace/worktree.js';
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
  /**
   * Write the state to disk: when an attempt starts and after each round, so that a resume
   * knows what a stopped orchestrator left (absent: the state is not written, as in the Action).
   */
  save?: () => Promise<void>;
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
 *
 * The state says where the loop is (`options.save` writes it): `integration.repairing` holds the
 * attempts under way, `integration.repairs` every record so far. So a resume after the
 * orchestrator stopped continues from there (see interrupted.ts): the records it finds are
 * carried on, and a task with attempts left is tried again; an interrupted attempt does not count.
 */
export async function repairTasks(options: RepairOptions): Promise<RepairRecord[]> {
  const integration = options.state.integration;
  if (integration === null) return [];
  const records = new Map((integration.repairs ?? []).map((r) => [r.taskId, r]));
  const mayTry = (target: RepairTarget) => {
    const previous = records.get(target.taskId);
    return (
      previous === undefined ||
      (previous.outcome !== 'merged' && finished(previous) < options.attempts)
    );
  };
  let pending =
    options.attempts > 0
      ? repairTargets(options.state, integration, options.on).filter(mayTry)
      : [];
  const inFlight = (integration.repairing ??= { attempts: [] });
  const save = async () => {
    integration.repairs = [...records.values()];
    await options.save?.();
  };
  while (pending.length > 0) {
    // Stopped by the user: what was tried is recorded, nothing more is started.
    if (options.signal?.aborted) break;
    const numbers = new Map(
      pending.map((target) => [target.taskId, (records.get(target.taskId)?.attempts ?? 0) + 1]),
    );
    const attempts = await Promise.all(
      pending.map((target) => {
        const n = numbers.get(target.taskId)!;
        return attemptRepair(options, target, n, async (ws) => {
          inFlight.attempts.push({
            taskId: target.taskId,
            kind: target.kind,
            attempt: n,
            branch: ws.branch,
            worktree: ws.worktree,
            baseSha: ws.base,
            headSha: null,
          });
          await options.save?.();
        });
      }),
    );
    const ready = attempts.filter((attempt) => attempt.problem === null);
    const landed =
      ready.length > 0 && !options.signal?.aborted
        ? await integrateRepairs(options, ready, Math.max(...numbers.values()))
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
      const headSha =
        attempt.ws === null ? null : await branchSha(options.state.repo_root, attempt.ws.branch);
      record(records, attempt, numbers.get(id)!, problem, headSha);
      inFlight.attempts = inFlight.attempts.filter((entry) => entry.taskId !== id);
      if (merged) {
        markRepaired(options.state, attempt);
        options.notify(`repaired (${attempt.target.kind}) and merged`, id);
      } else {
        options.notify(`repair attempt ${numbers.get(id)!} failed: ${problem}`, id);
        next.push(retry ?? attempt.target);
      }
    }
    // On disk before the worktrees go: killed from here on, nothing of this round is redone.
    await save();
    for (const attempt of attempts) {
      if (attempt.ws !== null) await removeWorktree(options.state.repo_root, attempt.ws.worktree);
    }
    pending = next.filter(mayTry);
  }
  delete integration.repairing;
  const result = [...records.values()];
  integration.repairs = result;
  noteInteractionRepairs(integration, result);
  return result;
}

/** Attempts that ended with a verdict: those a stopped orchestrator cut short do not count. */
function finished(record: RepairRecord): number {
  return record.attempts - (record.interrupted ?? 0);
}

/**
 * One repair attempt, up to a branch ready to integrate (or the problem): the part a distributed
 * runner (the Action's repair leg) runs on its own, without the integration.
 */
export async function attemptRepair(
  options: RepairOptions,
  target: RepairTarget,
  round: number,
  /** Called once the attempt's branch and worktree exist, before the agent starts. */
  started?: (ws: RepairWorkspace) => Promise<void>,
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
      baseSha: state.base_sha,
      env: options.env,
      identity: options.identity,
    });
    attempt.ws = ws;
    await started?.(ws);
    const contextFile = join(dir, 'REPAIR_CONTEXT.md');
    await writeFile(
      contextFile,
      await repairContext({
        target,
        state,
        plan: options.plan,
        ws,
        attempt: round,
        // An attempt after an interrupted one is numbered past the limit: say so plainly.
        attempts: Math.max(options.attempts, round),
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
    attempt.keptRefs = await keepRepairAttempt({
      repoRoot: state.repo_root,
      executionId: state.execution_id,
      taskId: target.taskId,
      worktree: ws.worktree,
      branch: ws.branch,
      baseSha: ws.base,
      env: options.env,
      identity: options.identity,
    });
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
      // A check failed by what was read from it (coverage below the minimum) says why; the
      // others' output is in the attempt's validation folder.
      const why = failed.find((c) => typeof c.failure === 'string')?.failure;
      attempt.problem = `the repaired branch fails its validation: ${failed.map((c) => c.name).join(', ')}${why === undefined ? '' : `; ${why}`}`;
    }
  } catch (error) {
    attempt.problem = options.signal?.aborted
      ? 'stopped by the user'
      : `the repair could not run: ${(error as Error).message.split('\n')[0]}`;
  }
  return attempt;
}

export interface KeepRepairInput {
  repoRoot: string;
  executionId: string;
  taskId: string;
  worktree: string;
  branch: string;
  /** The integration head the attempt started from. */
  baseSha: string;
  env: Record<string, string>;
  identity: GitIdentity;
  why?: string;
}

/**
 * Every attempt's worktree and branch, as the agent left them, under a named ref
 * (`<task>-repair/attempt-<n>`); beside it, the tip of a branch it left and commits it dropped
 * (found in the reflogs), as for a task. With the worktree gone, the branch tip alone is kept.
 */
export async function keepRepairAttempt(input: KeepRepairInput): Promise<string[]> {
  const owner = `${input.taskId}-repair`;
  const why = input.why ?? `repair attempt of task ${input.taskId}`;
  const n = await nextAttemptNumber(input.repoRoot, input.executionId, owner, input.env);
  const kept = await keepAttempt({
    repoRoot: input.repoRoot,
    worktree: input.worktree,
    branch: input.branch,
    ref: attemptRef(input.executionId, owner, n),
    env: input.env,
    identity: input.identity,
    why,
  });
  if (kept === null) return [];
  // Its HEAD's reflog went with the worktree: the branch tip is all there is to keep.
  if (!(await isWorktreeRoot(input.worktree)))
    return [kept.ref, ...(kept.branchRef === null ? [] : [kept.branchRef])];
  const dropped = await keepDroppedCommits({
    repoRoot: input.repoRoot,
    worktree: input.worktree,
    branch: input.branch,
    startSha: input.baseSha,
    env: input.env,
    refFor: besideAttempt(kept.ref),
    kept: [kept.sha, ...(kept.branchSha === null ? [] : [kept.branchSha])],
    why,
    note: 'commits dropped from the branch',
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
  headSha: string | null,
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
    workspaces: [
      ...(previous?.workspaces ?? []),
      ...(attempt.ws === null
        ? []
        : [
            {
              attempt: round,
              branch: attempt.ws.branch,
              worktree: attempt.ws.worktree,
              baseSha: attempt.ws.base,
              headSha,
            },
          ]),
    ],
    ...(previous?.interrupted === undefined ? {} : { interrupted: previous.interrupted }),
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
