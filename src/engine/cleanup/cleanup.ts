import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionState, TaskRun } from '../monitor/state.js';
import { pathExists } from '../path-exists.js';
import { orderedTasks } from '../report/outcome.js';
import { git } from '../workspace/git-exec.js';
import { archiveTaskOutputs, isInside, taskOutputPaths, type ArchiveResult } from './archive.js';
import { planTaskCleanup, type CleanupOptions, type Decision } from './policy.js';
import { canonicalPath, listWorktrees, type WorktreeEntry } from './worktrees.js';

export interface CleanupItem {
  taskId: string;
  kind: 'worktree' | 'branch' | 'outputs';
  /** The worktree path, branch name or output path concerned. */
  target: string;
  /** `absent`: there was nothing to remove. `error`: removal was attempted and failed. */
  action: 'removed' | 'kept' | 'absent' | 'error';
  reason: string;
}

export interface CleanupResult {
  executionId: string;
  executionDir: string;
  items: CleanupItem[];
  archives: ArchiveResult[];
  /** Nothing kept and nothing failed: only the execution folder (state, report, archives) is left. */
  complete: boolean;
  errors: number;
}

export interface CleanupExecutionOptions extends CleanupOptions {
  repoRoot: string;
  executionDir: string;
  /** Archive logs and outputs before removing them (default true). */
  archive?: boolean;
}

/**
 * Remove what a finished execution left (the seed's Step 5.2): each cleaned task's logs and
 * outputs are archived then removed, its worktree removed, its branch deleted when merged into
 * the integration branch or the base (`git branch -d` semantics; `force` deletes unmerged ones).
 * What explains a failure (failed, cancelled, conflicting or dropped tasks) and unfinished work
 * is kept unless `force`, and every kept item says why and where it is.
 * One task's git failure does not stop the others; it is reported as an `error` item.
 */
export async function cleanupExecution(
  state: ExecutionState,
  options: CleanupExecutionOptions,
): Promise<CleanupResult> {
  const { repoRoot, executionDir } = options;
  const worktrees = await indexWorktrees(repoRoot);
  const targets = await mergeTargets(repoRoot, state);
  const protectedBranches = new Set([state.base_ref, state.integration?.branch].filter(isString));
  const items: CleanupItem[] = [];
  const archives: ArchiveResult[] = [];
  for (const task of orderedTasks(state)) {
    const branchSha = await resolveBranch(repoRoot, task.branch);
    const mergedInto =
      branchSha === null ? null : await firstAncestorTarget(repoRoot, task.branch, targets);
    const plan = planTaskCleanup(task, state, mergedInto, options);
    items.push(
      ...(await cleanOutputs(
        task,
        state,
        executionDir,
        plan.outputs,
        options.archive ?? true,
        archives,
      )),
    );
    items.push(await cleanWorktree(task, repoRoot, worktrees, plan.worktree));
    items.push(
      await cleanBranch(task, repoRoot, branchSha, worktrees, protectedBranches, plan.branch),
    );
  }
  await git(repoRoot, ['worktree', 'prune']);
  const errors = items.filter((item) => item.action === 'error').length;
  const kept = items.filter((item) => item.action === 'kept').length;
  return {
    executionId: state.execution_id,
    executionDir,
    items,
    archives,
    complete: errors === 0 && kept === 0,
    errors,
  };
}

async function cleanOutputs(
  task: TaskRun,
  state: ExecutionState,
  executionDir: string,
  decision: Decision,
  archive: boolean,
  archives: ArchiveResult[],
): Promise<CleanupItem[]> {
  const paths = taskOutputPaths(task, executionDir);
  const item = (target: string, action: CleanupItem['action'], reason: string): CleanupItem => ({
    taskId: task.task_id,
    kind: 'outputs',
    target,
    action,
    reason,
  });
  if (!decision.remove) return paths.map((target) => item(target, 'kept', decision.reason));
  if (archive) {
    try {
      archives.push(
        ...(await archiveTaskOutputs(state, executionDir, { taskIds: [task.task_id] })),
      );
    } catch (error) {
      return paths.map((target) =>
        item(target, 'error', `not removed: archiving failed: ${message(error)}`),
      );
    }
  }
  const archived = archives.find((entry) => entry.taskId === task.task_id)?.archive ?? null;
  const results: CleanupItem[] = [];
  for (const target of paths) {
    // Only what lives in the execution folder is ours to delete.
    if (!isInside(target, executionDir)) {
      results.push(item(target, 'kept', 'outside the execution folder; left in place'));
      continue;
    }
    const existed = await pathExists(target, { followLinks: false });
    if (!existed) {
      results.push(
        item(
          target,
          'absent',
          archived === null ? 'nothing there' : `already archived in ${archived}`,
        ),
      );
      continue;
    }
    try {
      await rm(target, { recursive: true, force: true });
      results.push(
        item(target, 'removed', archived === null ? decision.reason : `archived in ${archived}`),
      );
    } catch (error) {
      results.push(item(target, 'error', message(error)));
    }
  }
  return results;
}

async function cleanWorktree(
  task: TaskRun,
  repoRoot: string,
  worktrees: Map<string, WorktreeEntry>,
  decision: Decision,
): Promise<CleanupItem> {
  const target = path.resolve(repoRoot, task.worktree);
  const item = (action: CleanupItem['action'], reason: string): CleanupItem => ({
    taskId: task.task_id,
    kind: 'worktree',
    target,
    action,
    reason,
  });
  const key = await canonicalPath(target);
  const entry = worktrees.get(key);
  if (!decision.remove) {
    return entry === undefined && !(await pathExists(target, { followLinks: false }))
      ? item('absent', 'already gone')
      : item('kept', decision.reason);
  }
  if (entry === undefined) {
    if (await pathExists(target, { followLinks: false }))
      return item('kept', 'not a registered git worktree; left alone');
    return item('absent', 'already gone');
  }
  if (entry.main) return item('kept', 'it is the main worktree of the repository');
  try {
    // A stale lock from the run that created it does not protect anything any more.
    const force = entry.locked ? ['--force', '--force'] : ['--force'];
    await git(repoRoot, ['worktree', 'remove', ...force, target]);
    worktrees.delete(key);
    return item('removed', decision.reason);
  } catch (error) {
    return item('error', message(error));
  }
}

async function cleanBranch(
  task: TaskRun,
  repoRoot: string,
  sha: string | null,
  worktrees: Map<string, WorktreeEntry>,
  protectedBranches: Set<string>,
  decision: Decision,
): Promise<CleanupItem> {
  const item = (action: CleanupItem['action'], reason: string): CleanupItem => ({
    taskId: task.task_id,
    kind: 'branch',
    target: task.branch,
    action,
    reason,
  });
  if (sha === null) return item('absent', 'no such branch');
  if (!decision.remove) return item('kept', decision.reason);
  if (protectedBranches.has(task.branch))
    return item('kept', 'it is the base or integration branch');
  const ref = `refs/heads/${task.branch}`;
  const checkedOut = [...worktrees.values()].find((entry) => entry.branch === ref);
  if (checkedOut !== undefined) return item('kept', `checked out in ${checkedOut.path}`);
  try {
    // update-ref with the expected value: a full ref name (never read as an option) and no
    // deletion if the branch moved since it was checked.
    await git(repoRoot, ['update-ref', '-d', ref, sha]);
    return item('removed', `${decision.reason} (was ${sha.slice(0, 7)})`);
  } catch (error) {
    return item('error', message(error));
  }
}

async function indexWorktrees(repoRoot: string): Promise<Map<string, WorktreeEntry>> {
  const entries = await listWorktrees(repoRoot);
  const index = new Map<string, WorktreeEntry>();
  for (const entry of entries) index.set(await canonicalPath(entry.path), entry);
  return index;
}

interface MergeTarget {
  label: string;
  ref: string;
}

/** The refs a task branch counts as merged into: the integration branch, then the base. */
async function mergeTargets(repoRoot: string, state: ExecutionState): Promise<MergeTarget[]> {
  const candidates: MergeTarget[] = [];
  if (state.integration !== null) {
    candidates.push({
      label: state.integration.branch,
      ref: `refs/heads/${state.integration.branch}`,
    });
  }
  const baseRef = state.base_ref.startsWith('refs/')
    ? state.base_ref
    : `refs/heads/${state.base_ref}`;
  candidates.push({ label: state.base_ref, ref: baseRef });
  const present: MergeTarget[] = [];
  for (const candidate of candidates) {
    if ((await revParse(repoRoot, candidate.ref)) !== null) present.push(candidate);
  }
  return present;
}

async function firstAncestorTarget(
  repoRoot: string,
  branch: string,
  targets: readonly MergeTarget[],
): Promise<string | null> {
  for (const target of targets) {
    const { exitCode } = await git(
      repoRoot,
      ['merge-base', '--is-ancestor', `refs/heads/${branch}`, target.ref],
      { allowExitCodes: [1] },
    );
    if (exitCode === 0) return target.label;
  }
  return null;
}

async function resolveBranch(repoRoot: string, branch: string): Promise<string | null> {
  if (branch.trim() === '') return null;
  return revParse(repoRoot, `refs/heads/${branch}`);
}

async function revParse(repoRoot: string, ref: string): Promise<string | null> {
  const { stdout, exitCode } = await git(
    repoRoot,
    ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`],
    {
      allowExitCodes: [1, 128],
    },
  );
  return exitCode === 0 ? stdout.trim() : null;
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
