import { basename, join } from 'node:path';
import { canonicalPath, isInside, listWorktrees } from '../workspace/worktree-list.js';
import { integrate, type IntegrationCandidate } from '../integrate/integrate.js';
import type { IntegrationProgress, IntegrationResult } from '../integrate/schema.js';
import { integrationTestCommand } from '../integrate/test-command.js';
import type { ExecutionState } from '../state/schema.js';
import type { Logger } from '../ports/logger.js';
import { attemptRef, keepAttempt, nextAttemptNumber } from '../workspace/backup.js';
import {
  freeBranchName,
  localBranches,
  nameInUse,
  slugify,
  uniqueName,
} from '../workspace/refs.js';
import { branchSha, deleteBranch, removeWorktree } from '../workspace/worktree.js';
import type { Notify } from './notify.js';
import type { FinishSettings } from './settings.js';

export interface IntegrationStepOptions {
  settings: FinishSettings;
  executionDir: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  logger: Logger;
  notify: Notify;
  /** Where the integration is, at each merge and test run. */
  onProgress?: (progress: IntegrationProgress) => void;
  /** Make the integration branch even with nothing to merge (a repair will merge into it). */
  evenIfEmpty?: boolean;
}

/** The tasks whose work integration takes: completed means validated (or not validated at all). */
export function integrationCandidates(state: ExecutionState): IntegrationCandidate[] {
  return state.task_order
    .map((id) => state.tasks[id]!)
    .filter((run) => run.status === 'completed')
    .map((run) => ({
      taskId: run.task_id,
      agent: run.agent,
      branch: run.branch,
      // Among the candidates, a dependent's branch holds its dependencies' commits.
      dependsOn: run.depends_on,
    }));
}

/**
 * `integration/group-<id>` for one group, `integration/<execution-id>` for a whole plan. A branch
 * of that name left by an earlier execution (or a tag of that name) is never reused: the execution
 * id is added.
 */
export async function integrationBranchName(
  repoRoot: string,
  prefix: string,
  state: ExecutionState,
): Promise<string> {
  const stem =
    state.parallel_group === 'all'
      ? state.execution_id
      : `group-${slugify(state.parallel_group, 40) || 'unnamed'}`;
  const wanted = `${prefix}${stem}`;
  const taken = await localBranches(repoRoot);
  // Nor a name git reads as something else (a tag `integration/group-1`): it would be ambiguous.
  if (uniqueName(wanted, new Set(taken)) === wanted && !(await nameInUse(repoRoot, wanted)))
    return wanted;
  const withId = stem === state.execution_id ? wanted : `${wanted}-${state.execution_id}`;
  return freeBranchName(repoRoot, withId, taken);
}

/**
 * Phase 4.3: merge the validated task branches into a new integration branch, in a worktree of
 * its own under the execution folder, and test the result. Null when no task has work to merge.
 */
export async function runIntegrationStep(
  state: ExecutionState,
  options: IntegrationStepOptions,
): Promise<IntegrationResult | null> {
  const { settings, notify } = options;
  const candidates = integrationCandidates(state);
  if (candidates.length === 0 && options.evenIfEmpty !== true) {
    notify(state, 'integration: no validated task to merge');
    return null;
  }
  const setAside = await setAsideUnfinishedIntegrations(state, options);
  for (const note of setAside) notify(state, note);
  const branch = await integrationBranchName(
    state.repo_root,
    settings.integration.branchPrefix,
    state,
  );
  const testCommand = await integrationTestCommand(state.repo_root, settings);
  notify(
    state,
    `integrating ${candidates.length} task(s) into ${branch} (${settings.integration.strategy}; ` +
      `tests: ${testCommand ?? 'none found'}${settings.integration.detectConflicts ? '; conflicts checked first' : ''})`,
  );
  const result = await integrate({
    repoRoot: state.repo_root,
    baseSha: state.base_sha,
    branchName: branch,
    workdir: join(options.executionDir, 'worktrees'),
    candidates,
    testCommand,
    strategy: settings.integration.strategy,
    detectConflicts: settings.integration.detectConflicts,
    onRisk: settings.integration.onRisk,
    env: options.env,
    signal: options.signal,
    logDir: join(options.executionDir, 'integration'),
    testTimeoutMs: settings.checkTimeoutMs,
    setupCommand: settings.setupCommand,
    logger: progressLogger(state, options),
    onProgress: (progress) => options.onProgress?.({ ...progress, branch }),
  }).catch(async (error: unknown) => {
    throw await withPartialBranch(error, state.repo_root, branch);
  });
  if (setAside.length > 0) result.notes = [...setAside, ...(result.notes ?? [])];
  for (const pair of result.predictedConflicts) {
    notify(
      state,
      `conflict check (git merge-tree, before merging): ${pair.a} ↔ ${pair.b} collide in ${pair.files.join(', ')}`,
    );
  }
  for (const risk of result.risks ?? []) {
    const verdict =
      risk.test?.outcome === 'failed' ? ' (confirmed: their new tests fail together)' : '';
    notify(state, `interaction risk: ${risk.tasks.join(' ↔ ')}: ${risk.reason}${verdict}`);
  }
  const tests =
    result.testsPassed === null
      ? 'no integration tests'
      : `integration tests ${result.testsPassed ? 'pass' : 'FAIL'}`;
  notify(
    state,
    `integration: merged ${result.merged.length} of ${candidates.length} into ${branch}; ` +
      `${tests} (${result.testRuns} run${result.testRuns === 1 ? '' : 's'})`,
  );
  return result;
}

/**
 * An integration killed with its orchestrator leaves its worktree under the execution folder
 * (`integration-*` while merging and testing; `commit-*` from versions that committed the report
 * in a worktree) and its branch, half made or not yet recorded in the state. Before integrating
 * again, each such branch is kept under a backup ref
 * (`refs/parallel-executor/<execution>/integration/attempt-<n>`, the worktree's uncommitted state
 * included), then its worktree and name are freed, so the new
 * integration takes the name the first one had. Returns one note per branch set aside.
 */
async function setAsideUnfinishedIntegrations(
  state: ExecutionState,
  options: IntegrationStepOptions,
): Promise<string[]> {
  const root = state.repo_root;
  const workdir = await canonicalPath(join(options.executionDir, 'worktrees'));
  const notes: string[] = [];
  for (const entry of await listWorktrees(root)) {
    const path = await canonicalPath(entry.path);
    if (!isInside(path, workdir) || !/^(integration|commit)-/.test(basename(path))) continue;
    const branch = entry.branch?.replace(/^refs\/heads\//, '') ?? null;
    const n = await nextAttemptNumber(root, state.execution_id, 'integration', options.env);
    const kept = await keepAttempt({
      repoRoot: root,
      worktree: path,
      branch: branch ?? 'HEAD',
      ref: attemptRef(state.execution_id, 'integration', n),
      env: options.env,
      identity: options.settings.identity,
      why: 'an integration the stopped orchestrator did not finish',
    });
    await removeWorktree(root, path);
    if (kept === null) continue;
    if (branch !== null) await deleteBranch(root, branch);
    notes.push(
      `an earlier integration of this execution did not finish${branch === null ? '' : ` (${branch})`}: ` +
        `what it had merged is kept as ${kept.ref}; integrated again from the start`,
    );
  }
  return notes;
}

/** The integration's own log lines, turned into notes the dashboard shows as they happen. */
function progressLogger(state: ExecutionState, options: IntegrationStepOptions): Logger {
  const taskOf = (data?: Record<string, unknown>) =>
    typeof data?.['taskId'] === 'string' ? data['taskId'] : null;
  return {
    debug: (message, data) => options.logger.debug(message, data),
    info: (message, data) => {
      options.logger.info(message, data);
      if (message === 'integration merged a task') {
        options.notify(state, 'merged into the integration branch', taskOf(data));
      }
    },
    warn: (message, data) => {
      options.logger.warn(message, data);
      if (message === 'integration dropped a task') {
        options.notify(
          state,
          `left out of the integration: ${String(data?.['reason'])}`,
          taskOf(data),
        );
      }
    },
    error: (message, data) => options.logger.error(message, data),
  };
}

/**
 * An integration that stopped half way leaves its branch at the last complete merge: say so, and
 * where, instead of letting the output read as if no branch was made.
 */
async function withPartialBranch(error: unknown, repoRoot: string, branch: string): Promise<Error> {
  const cause = error instanceof Error ? error : new Error(String(error));
  const sha = await branchSha(repoRoot, branch).catch(() => null);
  if (sha === null) return cause;
  const wrapped = new Error(
    `${cause.message} (the integration branch ${branch} was left at its last complete merge, ${sha.slice(0, 12)}; \`parallel-executor resume\` integrates again and keeps it under a ref)`,
    { cause },
  );
  return wrapped;
}
