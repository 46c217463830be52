import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CONTEXT_FILE, SUMMARY_FILE } from '../collect/collect.js';
import { ParallelExecutorError } from '../errors.js';
import type { ExecutionState, KeptRef, TaskRun } from '../state/schema.js';
import { mapLimit } from '../map-limit.js';
import { pathExists } from '../path-exists.js';
import { orderedTasks } from '../report/outcome.js';
import { isExecutionRunning } from '../run/executions.js';
import { replicatedFiles } from '../workspace/replicate.js';
import { atStartRef } from '../run/checkout-watch.js';
import { keepPinLeft, keepTaskState } from '../run/keep.js';
import { keptFolderOf } from '../run/paths.js';
import {
  attemptRef,
  isAncestor,
  keepAttempt,
  keptRefsOf,
  nextAttemptNumber,
  refSha,
} from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import { hiddenByOwnIgnores } from '../workspace/own-ignores.js';
import {
  drainPool,
  parkWorktree,
  poolDirOf,
  pooledCount,
  poolKeepPrefix,
  type ParkResult,
} from '../workspace/pool.js';
import { DEFAULT_IDENTITY, type GitIdentity } from '../workspace/identity.js';
import { isWorktreeRoot, retryOnLock } from '../workspace/worktree.js';
import {
  moveNestedRepositories,
  NestedMoveError,
  nestedRepositories,
  submodulesOf,
} from '../workspace/nested-repos.js';
import { pruneWorktreesIn } from '../workspace/worktree-admin.js';
import { archiveTaskOutputs, taskOutputPaths, type ArchiveResult } from './archive.js';
import { newerClaims, type Claims } from './claims.js';
import {
  planRepairCleanup,
  planTaskCleanup,
  type CleanupOptions,
  type Decision,
  type TaskCleanupPlan,
} from './policy.js';
import { recordedRepairs, type RecordedRepair } from '../state/repairs.js';
import {
  canonicalPath,
  isInside,
  listWorktrees,
  type WorktreeEntry,
} from '../workspace/worktree-list.js';

export interface CleanupItem {
  /** The task's id; `integration` for an integration branch (`integration` set). */
  taskId: string;
  /** Set for an integration branch: `earlier` for one `resume` set aside. */
  integration?: 'current' | 'earlier';
  /** Set for a repair attempt's worktree or branch: the attempt's number (null: not recorded). */
  repair?: { attempt: number | null };
  kind: 'worktree' | 'branch' | 'outputs';
  /** The worktree path, branch name or output path concerned. */
  target: string;
  /** `absent`: there was nothing to remove. `error`: removal was attempted and failed. */
  action: 'removed' | 'kept' | 'absent' | 'error';
  reason: string;
}

/** A task's work kept under a ref before its worktree or branch was removed. */
export interface CleanupKeptRef extends KeptRef {
  taskId: string;
}

export interface CleanupResult {
  executionId: string;
  executionDir: string;
  items: CleanupItem[];
  archives: ArchiveResult[];
  /** Also recorded in the tasks' `kept_refs` (the caller saves the state). */
  keptRefs: CleanupKeptRef[];
  /** Nothing kept and nothing failed: only the execution folder (state, report, archives) is left. */
  complete: boolean;
  errors: number;
}

export interface CleanupExecutionOptions extends CleanupOptions {
  repoRoot: string;
  executionDir: string;
  /** Archive logs and outputs before removing them (default true). */
  archive?: boolean;
  /** The whole environment for git: keeping uncommitted work makes commits. */
  env: Record<string, string>;
  /** Who those commits are by (default: the tool's own identity). */
  identity?: GitIdentity;
}

/**
 * Remove what a finished execution left (the seed's Step 5.2): each cleaned task's logs and
 * outputs are archived then removed, its worktree removed, its branch deleted when merged into
 * the integration branch or the base (`git branch -d` semantics; `force` deletes unmerged ones).
 * What explains a failure (failed, cancelled, conflicting or dropped tasks) and unfinished work
 * is kept unless `force`, and every kept item says why and where it is. Each repair attempt's
 * worktree and branch (the names the state records, `recordedRepairs`) are cleaned as their
 * task's own, and reported as items with `repair` set.
 *
 * Only this execution's own things are removed, whatever `force` says: a worktree or branch a
 * newer execution's state records (names are reused once freed), or a branch that moved since
 * this execution recorded it, is left alone. And nothing is lost: before a worktree with
 * uncommitted work (or a HEAD of its own) is removed, or an unmerged branch deleted, that work is
 * kept under `refs/parallel-executor/<execution>/<task>/attempt-<n>`, recorded in the task's
 * `kept_refs` and in the result.
 * One task's git failure does not stop the others; it is reported as an `error` item.
 */
export async function cleanupExecution(
  state: ExecutionState,
  options: CleanupExecutionOptions,
): Promise<CleanupResult> {
  const { repoRoot, executionDir } = options;
  if (isExecutionRunning(state)) {
    throw new ParallelExecutorError(
      `execution ${state.execution_id} is still running (orchestrator pid ${state.orchestrator_pid}): nothing of it is cleaned`,
      'Wait for it to finish, or stop it, then clean again.',
    );
  }
  const worktrees = await indexWorktrees(repoRoot);
  const targets = await mergeTargets(repoRoot, state);
  const claims = await newerClaims(repoRoot, state);
  const protectedBranches = new Set([state.base_ref, state.integration?.branch].filter(isString));
  const archives: ArchiveResult[] = [];
  const keptRefs: CleanupKeptRef[] = [];
  const tasks = orderedTasks(state);
  const pool = await poolRoom(repoRoot, tasks, options.pool);
  // Tasks in parallel (keeping work, archiving, removing worktrees: each touches only its own
  // refs and folders); branches after, one at a time, once every worktree that goes is gone.
  const cleaned = await mapLimit(tasks, CLEANUP_PARALLELISM, async (task) => {
    const branchSha = await resolveBranch(repoRoot, task.branch);
    const mergedInto =
      branchSha === null ? null : await firstAncestorTarget(repoRoot, task.branch, targets);
    const worktreeKey = await canonicalPath(path.resolve(repoRoot, task.worktree));
    const plan = await ownPlan(planTaskCleanup(task, state, mergedInto, options), {
      subject: taskSubject(task),
      state,
      repoRoot,
      branchSha,
      claims,
      worktree: worktrees.get(worktreeKey),
    });
    await moveNestedBeforeRemoval(
      plan,
      path.resolve(repoRoot, task.worktree),
      worktrees.has(worktreeKey),
      { executionDir, task, what: 'clean' },
      { repoRoot, sha: task.start_sha ?? state.base_sha },
    );
    const kept = await keepWork(task, state, plan, {
      branchSha,
      merged: mergedInto !== null,
      registered: worktrees.has(worktreeKey),
      options,
    });
    const refs: CleanupKeptRef[] = [];
    if (kept instanceof Error) {
      const why = `not removed: keeping its work under a ref failed: ${kept.message}`;
      plan.worktree = { remove: false, reason: why };
      plan.branch = { remove: false, reason: why };
    } else {
      for (const ref of kept) refs.push({ taskId: task.task_id, ...ref });
      if (plan.worktree.remove && worktrees.has(worktreeKey))
        plan.worktree = await strandedStays(task, kept, plan.worktree);
    }
    const outputs = await cleanOutputs(
      task,
      state,
      executionDir,
      plan.outputs,
      options.archive ?? true,
      archives,
    );
    const worktree = await cleanWorktree(
      { ...taskSubject(task), worktree: task.worktree },
      repoRoot,
      worktrees,
      plan.worktree,
      pool,
    );
    return { task, branchSha, plan, refs, items: [...outputs, worktree] };
  });
  const items: CleanupItem[] = [];
  for (const { task, branchSha, plan, refs, items: done } of cleaned) {
    keptRefs.push(...refs);
    items.push(
      ...done,
      await cleanBranch(
        taskSubject(task),
        repoRoot,
        branchSha,
        worktrees,
        protectedBranches,
        plan.branch,
      ),
    );
  }
  // The repairs' worktrees and branches, each as its task's own, one at a time (they are few).
  for (const repair of recordedRepairs(state)) {
    const task = state.tasks[repair.taskId];
    if (task === undefined) continue;
    const done = await cleanRepair(repair, task, state, {
      options,
      targets,
      claims,
      worktrees,
      protectedBranches,
    });
    items.push(...done.items);
    keptRefs.push(...done.refs);
  }
  const integrations = await cleanIntegrations(state, { options, targets, claims, worktrees });
  items.push(...integrations.items);
  keptRefs.push(...integrations.refs);
  const order = new Map(tasks.map((task, i) => [task.task_id, i]));
  archives.sort((a, b) => order.get(a.taskId)! - order.get(b.taskId)!);
  // A pool made smaller (or turned off) gives its disk space back.
  if (pool !== null && options.pool !== undefined)
    await drainPool(repoRoot, pool.dir, options.pool, poolKeepPrefix(state.execution_id));
  // This execution's worktrees only (a task's folder holds its execution's), never the user's.
  await pruneWorktreesIn(repoRoot, [
    executionDir,
    ...tasks.map((task) => path.dirname(path.resolve(repoRoot, task.worktree))),
    ...recordedRepairs(state).flatMap((repair) =>
      repair.worktree === null ? [] : [path.resolve(repoRoot, repair.worktree)],
    ),
    ...(pool === null ? [] : [pool.dir]),
  ]);
  const errors = items.filter((item) => item.action === 'error').length;
  const kept = items.filter((item) => item.action === 'kept').length;
  // Nothing of the execution is left to resume: the hold on the start's branch tips goes too.
  if (errors === 0 && kept === 0) {
    await git(repoRoot, ['update-ref', '-d', atStartRef(state.execution_id)], {
      env: options.env,
      allowExitCodes: [1],
    });
  }
  return {
    executionId: state.execution_id,
    executionDir,
    items,
    archives,
    keptRefs,
    complete: errors === 0 && kept === 0,
    errors,
  };
}

/**
 * The integration branches of this execution nothing needs any more: each one `resume` set aside
 * whose every commit but the tool's merges is in the integration that replaced it or the base,
 * and the integration itself once merged into the base (the user merged it). A set-aside one
 * holding commits found nowhere else (a repair's fix) is kept unless `force`, which keeps its tip
 * under `refs/parallel-executor/<execution>/integration/attempt-<n>` first. One that moved since
 * recorded, that a newer execution records, or that is checked out is left alone. The current
 * integration while not merged is no item: it is what the run made.
 */
async function cleanIntegrations(
  state: ExecutionState,
  ctx: Pick<RepairCleanupContext, 'options' | 'targets' | 'claims' | 'worktrees'>,
): Promise<{ items: CleanupItem[]; refs: CleanupKeptRef[] }> {
  const { repoRoot, env } = ctx.options;
  const items: CleanupItem[] = [];
  const refs: CleanupKeptRef[] = [];
  const seen = new Set<string>();
  // The tip each was left at: its merges, then the finish step's report commit (`reportSha`).
  const report = state.report_commit;
  const entries = [
    ...(state.earlier_integrations ?? []).map((entry) => ({
      entry,
      tip: entry.tip ?? entry.headSha,
      reportSha: entry.reportSha,
      earlier: true,
    })),
    ...(state.integration === null
      ? []
      : [
          {
            entry: state.integration,
            tip:
              report != null && report.branch === state.integration.branch
                ? report.sha
                : state.integration.headSha,
            reportSha: null,
            earlier: false,
          },
        ]),
  ];
  for (const { entry, tip, reportSha, earlier } of entries.reverse()) {
    if (seen.has(entry.branch)) continue;
    seen.add(entry.branch);
    const item = (action: CleanupItem['action'], reason: string): CleanupItem => ({
      taskId: 'integration',
      integration: earlier ? 'earlier' : 'current',
      kind: 'branch',
      target: entry.branch,
      action,
      reason,
    });
    const ref = `refs/heads/${entry.branch}`;
    const sha = await resolveBranch(repoRoot, entry.branch);
    if (sha === null) {
      if (earlier) items.push(item('absent', 'no such branch'));
      continue;
    }
    const other = ctx.claims.branches.get(entry.branch);
    const checkedOut = [...ctx.worktrees.values()].find((tree) => tree.branch === ref);
    const base = ctx.targets.find((target) => target.label === state.base_ref);
    if (!earlier) {
      // Only once merged into the base, as it was made, by no one else's, checked out nowhere.
      if (other !== undefined || checkedOut !== undefined || sha !== tip) continue;
      if (base === undefined || !(await isAncestor(repoRoot, sha, base.ref, env))) continue;
      items.push(await deleteBranchRef(ref, sha, repoRoot, item, `merged into ${base.label}`));
      continue;
    }
    const what = 'an earlier integration, set aside by resume';
    if (other !== undefined) {
      items.push(item('kept', `the branch now belongs to execution ${other}: not this one's`));
      continue;
    }
    if (sha !== tip) {
      items.push(
        item(
          'kept',
          `${what}; it moved since (${tip.slice(0, 7)}, now ${sha.slice(0, 7)}): left alone`,
        ),
      );
      continue;
    }
    if (checkedOut !== undefined) {
      items.push(item('kept', `${what}; checked out in ${checkedOut.path}`));
      continue;
    }
    const newer = ctx.targets.filter((target) => target.label !== entry.branch);
    const { stdout } = await git(
      repoRoot,
      ['rev-list', '--no-merges', sha, '--not', ...newer.map((t) => t.ref)],
      { env },
    );
    // The finish step's report commit is the tool's own text, rewritten by the next report.
    const alone = stdout.split('\n').filter((line) => line !== '' && line !== reportSha).length;
    const into = newer.map((target) => target.label).join(' or ') || 'no other branch';
    if (alone === 0) {
      items.push(
        await deleteBranchRef(
          ref,
          sha,
          repoRoot,
          item,
          `${what}; every commit it merged is in ${into}`,
        ),
      );
      continue;
    }
    if (!(ctx.options.force ?? false)) {
      items.push(
        item(
          'kept',
          `${what}; ${alone} commit(s) on it are in neither ${into}: kept so they are not lost (--force deletes it, keeping them under a ref)`,
        ),
      );
      continue;
    }
    const n = await nextAttemptNumber(repoRoot, state.execution_id, 'integration', env);
    const holder = attemptRef(state.execution_id, 'integration', n);
    const why = `clean --force: ${what}, with ${alone} commit(s) in neither ${into}`;
    try {
      await git(repoRoot, ['update-ref', '-m', why, holder, sha], { env });
    } catch (error) {
      items.push(item('error', `keeping its tip under ${holder} failed: ${message(error)}`));
      continue;
    }
    refs.push({ taskId: 'integration', ref: holder, sha, why });
    items.push(
      await deleteBranchRef(ref, sha, repoRoot, item, `${why}; its tip is kept as ${holder}`),
    );
  }
  return { items, refs };
}

async function deleteBranchRef(
  ref: string,
  sha: string,
  repoRoot: string,
  item: (action: CleanupItem['action'], reason: string) => CleanupItem,
  reason: string,
): Promise<CleanupItem> {
  try {
    // update-ref with the expected value: a full ref name (never read as an option) and no
    // deletion if the branch moved since it was checked.
    await git(repoRoot, ['update-ref', '-d', ref, sha]);
    return item('removed', `${reason} (was ${sha.slice(0, 7)})`);
  } catch (error) {
    return item('error', message(error));
  }
}

/** A worktree and branch clean may remove: a task's own, or one of its repair attempts'. */
interface Subject {
  taskId: string;
  /** Set for a repair attempt (see `CleanupItem.repair`). */
  repair?: { attempt: number | null };
  /** Null when none is recorded. */
  worktree: string | null;
  branch: string;
  /** What this execution recorded as the branch's tip (null: nothing recorded). */
  headSha: string | null;
}

function taskSubject(task: TaskRun): Subject {
  return {
    taskId: task.task_id,
    worktree: task.worktree,
    branch: task.branch,
    headSha: task.head_sha,
  };
}

interface OwnershipInput {
  subject: Subject;
  state: ExecutionState;
  repoRoot: string;
  branchSha: string | null;
  claims: Claims;
  worktree: WorktreeEntry | undefined;
}

/**
 * The policy's plan, with every removal of something that is not this execution's turned into a
 * keep: a worktree folder or branch name a newer execution records, a worktree checked out on a
 * newer execution's branch, a branch that moved away from what this execution recorded.
 */
async function ownPlan<Plan extends Pick<TaskCleanupPlan, 'worktree' | 'branch'>>(
  plan: Plan,
  input: OwnershipInput,
): Promise<Plan> {
  const notOurs = (reason: string): Decision => ({ remove: false, reason });
  const worktreeReason = worktreeNotOwned(input);
  if (plan.worktree.remove && worktreeReason !== null) plan.worktree = notOurs(worktreeReason);
  const branchReason = await branchNotOwned(input);
  if (plan.branch.remove && branchReason !== null) plan.branch = notOurs(branchReason);
  return plan;
}

function worktreeNotOwned({ subject, claims, worktree }: OwnershipInput): string | null {
  if (subject.worktree === null) return null;
  const other = claims.worktrees.get(path.resolve(subject.worktree));
  if (other !== undefined) return `it is now the worktree of execution ${other}: not this one's`;
  const on = worktree?.branch?.replace(/^refs\/heads\//, '');
  const branchOwner =
    on === undefined || on === subject.branch ? undefined : claims.branches.get(on);
  if (branchOwner !== undefined)
    return `it is checked out on ${on}, a branch of execution ${branchOwner}: not this one's`;
  return null;
}

/**
 * Before a worktree that goes: the nested repositories in it (an agent's `git init` or clone in a
 * folder of its worktree) are moved into the execution folder, which clean-up leaves, as no ref
 * of this repository can keep their files (a kept ref holds only a link to commits that exist
 * nowhere else). The plan's reason says where; a worktree whose ones could not be moved stays.
 */
async function moveNestedBeforeRemoval(
  plan: { worktree: Decision },
  worktree: string | null,
  registered: boolean,
  kept: { executionDir: string; task: TaskRun; what: string },
  start: { repoRoot: string; sha: string | null },
): Promise<void> {
  if (!plan.worktree.remove || !registered || worktree === null) return;
  if (nestedRepositories(worktree, 1).length === 0) return;
  const submodules = await submodulesOf(start.repoRoot, start.sha);
  if (nestedRepositories(worktree, 1, submodules).length === 0) return;
  const dir = await keptFolderOf(kept.executionDir, kept.task, kept.what);
  try {
    const moved = await moveNestedRepositories(worktree, dir, submodules);
    plan.worktree = {
      remove: true,
      reason: `${plan.worktree.reason}; its nested git repositories (${moved.join(', ')}) moved to ${dir} first, as no ref of this repository can keep their files`,
    };
  } catch (error) {
    plan.worktree = {
      remove: false,
      reason: `it holds nested git repositories that could not all be moved out: ${error instanceof NestedMoveError ? error.describe(dir) : `(${message(error)})`}; what was not moved stays where the agent left it: move it out of the worktree, then clean again`,
    };
  }
}

async function branchNotOwned(input: OwnershipInput): Promise<string | null> {
  const { subject, state, repoRoot, branchSha } = input;
  if (branchSha === null) return null;
  const other = input.claims.branches.get(subject.branch);
  if (other !== undefined) return `the branch now belongs to execution ${other}: not this one's`;
  if (subject.headSha === null || branchSha === subject.headSha) return null;
  const integration = state.integration?.branch;
  if (
    integration !== undefined &&
    (await isAncestor(repoRoot, branchSha, `refs/heads/${integration}`))
  )
    return null;
  return (
    `it moved since this execution recorded it (${subject.headSha.slice(0, 7)}, now ` +
    `${branchSha.slice(0, 7)}) and is not in ${integration ?? 'an integration branch'}: left alone`
  );
}

/** Worktrees removed at once: their deletion is disk-bound, and each git spawns a process. */
const CLEANUP_PARALLELISM = 8;

/** Files the tool itself puts in a worktree: they are not the agent's uncommitted work. */
const TOOL_FILES = new Set([CONTEXT_FILE, SUMMARY_FILE]);

interface KeepInput {
  branchSha: string | null;
  merged: boolean;
  /** The worktree is registered with git (so removing it is planned for real). */
  registered: boolean;
  options: CleanupExecutionOptions;
}

/**
 * Before the worktree goes (when it holds uncommitted work or a HEAD its branch lacks) or an
 * unmerged branch is deleted: keep the task's work under a backup ref and record it in the task.
 * An Error when that failed; then nothing of the task may be removed.
 */
async function keepWork(
  task: TaskRun,
  state: ExecutionState,
  plan: ReturnType<typeof planTaskCleanup>,
  input: KeepInput,
): Promise<KeptRef[] | Error> {
  const { repoRoot, env } = input.options;
  const removesWorktree = plan.worktree.remove && input.registered;
  const dropsCommits = plan.branch.remove && input.branchSha !== null && !input.merged;
  try {
    const before = task.kept_refs?.length ?? 0;
    const place = {
      repoRoot,
      executionId: state.execution_id,
      env,
      identity: input.options.identity ?? DEFAULT_IDENTITY,
    };
    // Commits pinned while its agent ran that no collection kept (the orchestrator was killed):
    // kept as `left-<sha>` refs, and the pin goes, whatever else is removed or kept.
    await keepPinLeft(place, task, 'clean: commits pinned while its agent ran, never collected');
    if (
      !dropsCommits &&
      !(
        removesWorktree && (await holdsOwnWork(task.worktree, input.branchSha, env, task.start_sha))
      )
    )
      return (task.kept_refs ?? []).slice(before);
    const why = `clean: ${removesWorktree ? 'worktree removed' : 'unmerged branch deleted'}`;
    // The default configuration copies (`.env*`, `.claude/`): a kept ref never holds them.
    await keepTaskState({ ...place, toolFiles: await replicatedFiles(repoRoot, []) }, task, why);
    return (task.kept_refs ?? []).slice(before);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * A worktree git still records whose folder is no longer one (its agent removed or replaced its
 * `.git` file): git refuses to remove it, and what is in it is for a person to look at. Kept, with
 * where its state is (`kept`, this clean's refs, or the ones its failure kept).
 */
async function strandedStays(
  task: TaskRun,
  kept: readonly KeptRef[],
  decision: Decision,
): Promise<Decision> {
  const worktree = path.resolve(task.worktree);
  if (!(await pathExists(worktree, { followLinks: false })) || (await isWorktreeRoot(worktree)))
    return decision;
  const refs = (kept.length > 0 ? kept : (task.kept_refs ?? [])).map((entry) => entry.ref);
  const where = refs.length === 0 ? '' : `; its state is kept at ${refs.join(', ')}`;
  return {
    remove: false,
    reason: `its .git file was removed or replaced, so it is no longer a git worktree: left where it is for a person to look at (move it away when done)${where}`,
  };
}

/**
 * Uncommitted changes (the tool's own files aside), files only ignore rules the agent wrote since
 * `start` hide, or a HEAD that is not in the task branch.
 */
async function holdsOwnWork(
  worktree: string,
  branchSha: string | null,
  env: Record<string, string>,
  start: string | null = null,
): Promise<boolean> {
  // Its .git file removed or pointed elsewhere: git run there would read another checkout (the
  // user's, above it). Kept: its state is read through its admin folder, if at all.
  if (!(await isWorktreeRoot(worktree))) return true;
  const status = await git(worktree, ['status', '--porcelain=v1', '-z', '--untracked-files=all'], {
    env,
    allowExitCodes: [128],
  });
  if (status.exitCode !== 0) return true; // cannot tell: keep it
  const changed = status.stdout
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3));
  if (changed.some((file) => !TOOL_FILES.has(file))) return true;
  if (start !== null && (await hiddenByOwnIgnores(worktree, start, env)).length > 0) return true;
  const head = await git(worktree, ['rev-parse', '--verify', '--quiet', 'HEAD'], {
    env,
    allowExitCodes: [1, 128],
  });
  if (head.exitCode !== 0) return false;
  return branchSha === null || !(await isAncestor(worktree, head.stdout.trim(), branchSha, env));
}

interface RepairCleanupContext {
  options: CleanupExecutionOptions;
  targets: readonly MergeTarget[];
  claims: Claims;
  worktrees: Map<string, WorktreeEntry>;
  protectedBranches: Set<string>;
}

/**
 * One repair attempt's worktree and branch, cleaned as its task's own are: the worktree removed
 * (its uncommitted work kept under a ref first), the branch deleted when merged, kept when not
 * unless `force`; a name a newer execution records, or a branch that moved, left alone.
 */
async function cleanRepair(
  repair: RecordedRepair,
  task: TaskRun,
  state: ExecutionState,
  ctx: RepairCleanupContext,
): Promise<{ items: CleanupItem[]; refs: CleanupKeptRef[] }> {
  const { repoRoot } = ctx.options;
  const subject: Subject = {
    taskId: repair.taskId,
    repair: { attempt: repair.attempt },
    worktree: repair.worktree,
    branch: repair.branch,
    headSha: repair.headSha,
  };
  const branchSha = await resolveBranch(repoRoot, repair.branch);
  const mergedInto =
    branchSha === null ? null : await firstAncestorTarget(repoRoot, repair.branch, ctx.targets);
  const worktreeKey =
    repair.worktree === null ? null : await canonicalPath(path.resolve(repoRoot, repair.worktree));
  const entry = worktreeKey === null ? undefined : ctx.worktrees.get(worktreeKey);
  const plan = await ownPlan(
    planRepairCleanup(task, state, mergedInto, repair.inFlight, repair.setAside, ctx.options),
    { subject, state, repoRoot, branchSha, claims: ctx.claims, worktree: entry },
  );
  await moveNestedBeforeRemoval(
    plan,
    repair.worktree === null ? null : path.resolve(repoRoot, repair.worktree),
    entry !== undefined,
    { executionDir: ctx.options.executionDir, task, what: `repair-${repair.attempt}` },
    { repoRoot, sha: state.base_sha },
  );
  const refs: CleanupKeptRef[] = [];
  const kept = await keepRepairWork(repair, task, state, plan, {
    branchSha,
    merged: mergedInto !== null,
    registered: entry !== undefined,
    options: ctx.options,
  });
  if (kept instanceof Error) {
    const why = `not removed: keeping its work under a ref failed: ${kept.message}`;
    plan.worktree = { remove: false, reason: why };
    plan.branch = { remove: false, reason: why };
  } else {
    for (const ref of kept.refs) refs.push({ taskId: repair.taskId, ...ref });
    if (plan.branch.remove && kept.holder !== null)
      plan.branch = {
        remove: true,
        reason: `${plan.branch.reason}; its work is kept as ${kept.holder}`,
      };
  }
  const items: CleanupItem[] = [];
  if (repair.worktree !== null) {
    const worktree = repair.worktree;
    items.push(
      await cleanWorktree({ ...subject, worktree }, repoRoot, ctx.worktrees, plan.worktree),
    );
  }
  items.push(
    await cleanBranch(
      subject,
      repoRoot,
      branchSha,
      ctx.worktrees,
      ctx.protectedBranches,
      plan.branch,
    ),
  );
  return { items, refs };
}

/**
 * Before a repair worktree with work of its own goes, or an unmerged repair branch is deleted:
 * that work under the task's next `<task>-repair/attempt-<n>` ref, recorded in the repair's record
 * (or the task's `kept_refs` for an attempt under way with no record yet). An unmerged branch
 * whose tip one of the repair's kept refs already holds needs none. `holder`: the ref that holds
 * the branch's work when it is deleted. An Error when keeping failed.
 */
async function keepRepairWork(
  repair: RecordedRepair,
  task: TaskRun,
  state: ExecutionState,
  plan: Pick<TaskCleanupPlan, 'worktree' | 'branch'>,
  input: KeepInput,
): Promise<{ refs: KeptRef[]; holder: string | null } | Error> {
  const { repoRoot, env } = input.options;
  const worktree = plan.worktree.remove && input.registered ? repair.worktree : null;
  const tip = plan.branch.remove && !input.merged ? input.branchSha : null;
  try {
    const dirty = worktree !== null && (await holdsOwnWork(worktree, input.branchSha, env));
    const holder = tip === null ? null : await keptAlready(repoRoot, tip, repair, env);
    if (!dirty && (tip === null || holder !== null)) return { refs: [], holder };
    const why = `clean: repair ${dirty ? 'worktree removed' : 'branch deleted unmerged'}`;
    const owner = `${repair.taskId}-repair`;
    const ref = attemptRef(
      state.execution_id,
      owner,
      await nextAttemptNumber(repoRoot, state.execution_id, owner, env),
    );
    const refs: KeptRef[] = [];
    if (dirty) {
      const kept = await keepAttempt({
        repoRoot,
        worktree: worktree,
        branch: repair.branch,
        ref,
        env,
        identity: input.options.identity ?? DEFAULT_IDENTITY,
        why,
      });
      if (kept !== null) refs.push(...keptRefsOf(kept, why, 'the branch its worktree had left'));
    } else {
      await git(repoRoot, ['update-ref', '-m', why, ref, tip!], { env });
      refs.push({ ref, sha: tip!, why });
    }
    if (repair.record !== null) repair.record.keptRefs.push(...refs.map((r) => r.ref));
    else (task.kept_refs ??= []).push(...refs);
    const held = tip === null ? null : await keptAlready(repoRoot, tip, repair, env, refs);
    return { refs, holder: holder ?? held };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** A kept ref of the repair (or one just made) whose commit holds `tip`; null when none does. */
async function keptAlready(
  repoRoot: string,
  tip: string,
  repair: RecordedRepair,
  env: Record<string, string>,
  extra: readonly KeptRef[] = [],
): Promise<string | null> {
  const candidates = [...(repair.record?.keptRefs ?? []), ...extra.map((r) => r.ref)];
  for (const ref of candidates) {
    const sha = await refSha(repoRoot, ref, env);
    if (sha !== null && (await isAncestor(repoRoot, tip, sha, env))) return ref;
  }
  return null;
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
  subject: Subject & { worktree: string },
  repoRoot: string,
  worktrees: Map<string, WorktreeEntry>,
  decision: Decision,
  pool: PoolRoom | null = null,
): Promise<CleanupItem> {
  const target = path.resolve(repoRoot, subject.worktree);
  const item = (action: CleanupItem['action'], reason: string): CleanupItem => ({
    taskId: subject.taskId,
    ...(subject.repair === undefined ? {} : { repair: subject.repair }),
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
  let notParked = '';
  const parked = pool === null || entry.locked ? null : await pool.park(target);
  if (parked?.parked != null) {
    worktrees.delete(key);
    return item(
      'removed',
      `${decision.reason}; its checkout kept ready for the next run in ${parked.parked}`,
    );
  }
  if (parked?.parked === null) notParked = `; not kept ready for the next run: ${parked.reason}`;
  try {
    // A stale lock from the run that created it does not protect anything any more.
    const force = entry.locked ? ['--force', '--force'] : ['--force'];
    // Beside the other tasks' removals (clean-up runs them in parallel), which this reads past.
    await retryOnLock(() => git(repoRoot, ['worktree', 'remove', ...force, target]));
    worktrees.delete(key);
    return item('removed', `${decision.reason}${notParked}`);
  } catch (error) {
    return item('error', message(error));
  }
}

/**
 * The pool the execution's worktrees may be parked in. One at a time: a worktree that cannot be
 * parked gives its place to the next.
 */
interface PoolRoom {
  /** The parking's result, or null when the pool is full. */
  park(worktree: string): Promise<ParkResult | null>;
}

/**
 * The pool beside the execution's worktrees (`<worktree root>/.pool`, on the same disk, so parking
 * is a rename); null when no size is given (a clean that does not know the config).
 */
async function poolRoom(
  repoRoot: string,
  tasks: readonly TaskRun[],
  size: number | undefined,
): Promise<(PoolRoom & { dir: string }) | null> {
  const first = tasks[0];
  if (size === undefined || first === undefined) return null;
  const dir = poolDirOf(path.dirname(path.dirname(path.resolve(repoRoot, first.worktree))));
  let left = Math.max(0, size - (await pooledCount(dir)));
  let turn: Promise<unknown> = Promise.resolve();
  const park = async (worktree: string): Promise<ParkResult | null> => {
    if (left === 0) return null;
    const result = await parkWorktree(repoRoot, worktree, dir).catch(
      (error: unknown): ParkResult => ({ parked: null, reason: message(error) }),
    );
    if (result.parked !== null) left -= 1;
    return result;
  };
  return {
    dir,
    park(worktree) {
      const result = turn.then(() => park(worktree));
      turn = result;
      return result;
    },
  };
}

async function cleanBranch(
  subject: Subject,
  repoRoot: string,
  sha: string | null,
  worktrees: Map<string, WorktreeEntry>,
  protectedBranches: Set<string>,
  decision: Decision,
): Promise<CleanupItem> {
  const item = (action: CleanupItem['action'], reason: string): CleanupItem => ({
    taskId: subject.taskId,
    ...(subject.repair === undefined ? {} : { repair: subject.repair }),
    kind: 'branch',
    target: subject.branch,
    action,
    reason,
  });
  if (sha === null) return item('absent', 'no such branch');
  if (!decision.remove) return item('kept', decision.reason);
  if (protectedBranches.has(subject.branch))
    return item('kept', 'it is the base or integration branch');
  const ref = `refs/heads/${subject.branch}`;
  const checkedOut = [...worktrees.values()].find((entry) => entry.branch === ref);
  if (checkedOut !== undefined) return item('kept', `checked out in ${checkedOut.path}`);
  return deleteBranchRef(ref, sha, repoRoot, item, decision.reason);
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
    if ((await refSha(repoRoot, candidate.ref)) !== null) present.push(candidate);
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
  return refSha(repoRoot, `refs/heads/${branch}`);
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
