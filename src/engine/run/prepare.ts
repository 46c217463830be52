import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CONTEXT_FILE, SUMMARY_FILE } from '../collect/collect.js';
import type { TaskRun } from '../state/schema.js';
import { git } from '../workspace/git-exec.js';
import { renderAgentContext, type DependencyContext } from '../workspace/context.js';
import { replicateConfig, replicatedFiles } from '../workspace/replicate.js';
import { runSetupCommand } from '../workspace/setup.js';
import { excludeFromGit } from '../workspace/repo.js';
import {
  addWorktree,
  addWorktreeForBranch,
  BranchExistsError,
  branchSha,
  createBranch,
  initSubmodules,
  isWorktreeRoot,
  mergeDependencies,
  resetWorktree,
} from '../workspace/worktree.js';
import { openPooledWorktree } from '../workspace/pool.js';
import { adminDir, pruneWorktreesIn } from '../workspace/worktree-admin.js';
import { pathExists } from '../path-exists.js';
import {
  ignoredIn,
  moveNestedRepositories,
  NestedMoveError,
  nestedRepositories,
  submodulesOf,
} from '../workspace/nested-repos.js';
import { keepDropped, keepTaskState, taskWork, workText, type KeepPlace } from './keep.js';
import { agentKey, fileKeyOf, keptFolderOf } from './paths.js';
import type { RunContext } from './context.js';
import { readFileTail } from '../file-tail.js';
import { outputSays } from '../validate/failure-reason.js';

/** Read from the end of what a failed setup command printed: its error is usually there. */
const SETUP_TAIL_BYTES = 16 * 1024;

export class TaskPreparationError extends Error {}

/**
 * Phase 2 for one task: its worktree and branch (from the base, with the dependencies that ran in
 * this execution merged in), the replicated configuration, the setup command, AGENT_CONTEXT.md.
 * Throws TaskPreparationError with a reason the user can act on.
 */
export async function prepareTask(ctx: RunContext, run: TaskRun): Promise<void> {
  await mkdir(dirname(run.log_file), { recursive: true });
  await mkdir(dirname(run.worktree), { recursive: true });
  const reused = await openTaskWorktree(ctx, run);
  const deps = run.depends_on
    .map((id) => ctx.state.tasks[id])
    .filter((dep): dep is TaskRun => dep !== undefined && dep.status === 'completed');
  const conflict = await mergeDependencies(
    run.worktree,
    deps.map((dep) => ({ taskId: dep.task_id, branch: dep.branch })),
    ctx.settings.identity,
  );
  if (conflict !== null) {
    throw new TaskPreparationError(
      `merging the work of dependency ${conflict.taskId} conflicts in: ${conflict.files.join(', ') || '(unknown files)'}`,
    );
  }
  // A reused branch keeps its start: what it holds beyond it (a fix made after a failure) is the
  // task's work too.
  if (!reused || run.start_sha === null) {
    run.start_sha =
      deps.length === 0
        ? ctx.state.base_sha
        : (await git(run.worktree, ['rev-parse', 'HEAD'])).stdout.trim();
  }
  const submodules = await initSubmodules(run.worktree, ctx.env, { justCheckedOut: !reused });
  if (submodules !== null) {
    throw new TaskPreparationError(
      `the repository has submodules (.gitmodules) and they could not be checked out in the task's worktree: ${submodules}. Check that their URLs are reachable from here (try \`git submodule update --init --recursive\` in ${run.worktree}), then retry the task (parallel-executor resume <execution> --retry-failed)`,
    );
  }
  await populateWorktree(ctx, run);
  await keepToolFilesOut(ctx, run);
  if (ctx.settings.setupCommand !== null) {
    const logged = await stat(run.log_file).then(
      (info) => info.size,
      () => 0,
    );
    const result = await runSetupCommand(
      ctx.settings.setupCommand,
      run.worktree,
      run.log_file,
      ctx.env,
      ctx.signal,
    );
    if (result.exitCode !== 0 && !ctx.signal.aborted) {
      // What it printed says why (`npm ci` without a lockfile); only the path said nothing.
      const size = await stat(run.log_file).then(
        (info) => info.size,
        () => 0,
      );
      const printed =
        size > logged
          ? await readFileTail(run.log_file, Math.min(size - logged, SETUP_TAIL_BYTES))
          : null;
      // Its first line is the command as the log shows it (`$ npm ci`), not what it printed.
      const said = printed === null ? null : outputSays(printed.replace(/^\$ [^\n]*\n/, ''));
      throw new TaskPreparationError(
        `setup command failed (${result.exitCode === null ? `signal ${result.signal}` : `exit ${result.exitCode}`})${said === null ? '' : `; ${said}`}; its output is in ${run.log_file}`,
      );
    }
  }
}

/**
 * The task's worktree on its branch. A new execution makes both. On resume they may exist already
 * (their state is kept under a backup ref by then): the worktree is reused, cleaned back to its
 * branch's tip, or the branch is checked out in a new one; a folder that is not a worktree (one
 * half made when the orchestrator died) is replaced. Returns whether the branch was reused.
 */
async function openTaskWorktree(ctx: RunContext, run: TaskRun): Promise<boolean> {
  const root = ctx.state.repo_root;
  if (await isWorktreeRoot(run.worktree)) {
    const tip = (await branchSha(root, run.branch)) ?? 'HEAD';
    // One a take moved from the pool and stopped before its checkout (no HEAD reflog: parking
    // removed it, the take writes it after the checkout) holds what the pool held, ignored files
    // too: they go, as the take's clean would have removed them.
    const admin = await adminDir(run.worktree);
    const fromPool = admin !== null && !(await pathExists(join(admin, 'logs', 'HEAD')));
    await moveNestedAside(ctx, run, { ignoredToo: fromPool });
    await resetWorktree(run.worktree, run.branch, tip);
    if (fromPool) await git(run.worktree, ['clean', '-ffdxq']);
    return true;
  }
  // A new branch, unless it is there already (made before the orchestrator died): then that one.
  try {
    await newWorktree(ctx, run);
    return false;
  } catch (error) {
    if (!(error instanceof BranchExistsError)) throw error;
  }
  await ctx.repoLock.run(() => clearHalfMadeWorktree(root, run.worktree));
  await addWorktreeForBranch(root, run.worktree, run.branch, ctx.repoLock);
  return true;
}

/**
 * A new branch at the base and a worktree on it: one the pool kept ready when there is one (only
 * what differs is checked out), else a new one. Throws BranchExistsError, the pooled worktree
 * left in the pool, when the branch is there already.
 */
async function newWorktree(ctx: RunContext, run: TaskRun): Promise<void> {
  const root = ctx.state.repo_root;
  const base = ctx.state.base_sha;
  if (ctx.pool === undefined) {
    await addWorktree(root, run.worktree, run.branch, base, ctx.repoLock);
    return;
  }
  // The branch is made while the pool is looked at: every task's in one ref transaction, none
  // waiting for its take first.
  const branched = createBranch(root, run.branch, base, ctx.repoLock).then(
    () => null,
    (error: unknown) => ({ error }),
  );
  const pooled = await ctx.pool.take((ref) => keptFromPool(ctx, run, ref));
  const failed = await branched;
  if (failed !== null) {
    if (pooled !== null) await ctx.pool.giveBack(pooled);
    throw failed.error;
  }
  if (pooled === null) {
    await addWorktreeForBranch(root, run.worktree, run.branch, ctx.repoLock);
    return;
  }
  try {
    await openPooledWorktree(
      root,
      pooled,
      run.worktree,
      run.branch,
      base,
      ctx.repoLock,
      ctx.settings.identity,
    );
  } catch (error) {
    // Moved but not checked out: the task fails with git's reason, and resume resets it.
    if (await isWorktreeRoot(run.worktree)) throw error;
    ctx.logger.warn('a worktree kept ready could not be used; making a new one', {
      pooled: pooled.path,
      error: String(error),
    });
    // Not a worktree any more (its git admin folder pruned, say): no run should try it again. Out
    // of the pool as a take drops one: never a folder that is not the pool's own to delete.
    if (!(await isWorktreeRoot(pooled.path)))
      await ctx.pool.drop(pooled.path, (ref) => keptFromPool(ctx, run, ref));
    await addWorktreeForBranch(root, run.worktree, run.branch, ctx.repoLock);
  }
}

/**
 * A commit made in a worktree kept ready since it was parked (by an agent outside its own
 * worktree, by someone): kept under a ref before that worktree went, and said on the task whose
 * take found it, so that the report and the state name where it is.
 */
function keptFromPool(ctx: RunContext, run: TaskRun, ref: string): void {
  const message = `a commit was made in a worktree kept ready from an earlier run (not by this task); it is not merged, and was kept at ${ref} (git log ${ref})`;
  run.warnings = [...(run.warnings ?? []), message];
  ctx.emit({ type: 'warning', message, taskId: run.task_id });
}

/**
 * Resume collects the work an agent left without running it again: the worktree must be there
 * (checked out again from the branch when it is gone), and the tool's copies in it known.
 */
export async function reopenForCollection(ctx: RunContext, run: TaskRun): Promise<void> {
  if (!(await isWorktreeRoot(run.worktree))) {
    await ctx.repoLock.run(() => clearHalfMadeWorktree(ctx.state.repo_root, run.worktree));
    await addWorktreeForBranch(ctx.state.repo_root, run.worktree, run.branch, ctx.repoLock);
  }
  const copies = await replicatedFiles(
    ctx.state.repo_root,
    ctx.settings.replicate,
    await ctx.tracked(),
  );
  ctx.replicated.set(run.task_id, copies);
}

/**
 * Before checking a branch out again where its worktree was: a folder there that git does not know
 * as a worktree (`git worktree add` killed half way leaves only its `.git` file) is removed, and
 * git forgets worktrees whose folder is gone. A folder with more in it is not the tool's to
 * delete. Runs under the repository lock: pruning must not race another task's `worktree add`.
 */
async function clearHalfMadeWorktree(repoRoot: string, path: string): Promise<void> {
  if (await pathExists(path)) {
    const entries = await readdir(path).catch(() => [] as string[]);
    if (entries.some((name) => name !== '.git')) {
      throw new TaskPreparationError(
        `${path} exists but is not a git worktree; its files were left as they are: move them out of the way, then retry the task (parallel-executor resume <execution> --retry-failed)`,
      );
    }
    await rm(path, { recursive: true, force: true });
  }
  await pruneWorktreesIn(repoRoot, [path]);
}

/**
 * Before a retry: the failed attempt is kept under its `attempt-<n>` ref (commits and uncommitted
 * changes), then the worktree goes back to the start commit with configuration and context
 * written again.
 */
export async function resetTaskWorkspace(
  ctx: RunContext,
  run: TaskRun,
  reason: string,
): Promise<void> {
  if (run.start_sha === null) return;
  const work = await taskWork(ctx.state.repo_root, run, ctx.replicated.get(run.task_id) ?? []);
  if (work.commits > 0 || work.dirty) {
    const kept = await keepTaskState(
      keepPlaceOf(ctx, run),
      run,
      `attempt ${run.attempts} failed (${reason}); kept before the retry`,
    );
    if (kept !== null) {
      ctx.emit({
        type: 'warning',
        taskId: run.task_id,
        message: `attempt ${run.attempts} left ${workText(work)}: kept as ${kept.ref} before the retry`,
      });
    }
  } else {
    // Commits it made and reset or amended away: the reset below rewinds the branch over them.
    await keepDropped(
      keepPlaceOf(ctx, run),
      run,
      `attempt ${run.attempts} failed (${reason})`,
      null,
    );
  }
  await moveNestedAside(ctx, run);
  await resetWorktree(run.worktree, run.branch, run.start_sha);
  run.last_reason = reason;
  await populateWorktree(ctx, run);
}

/**
 * Before the worktree is reset for another attempt: the nested repositories the last one left (an
 * agent's `git init` or clone in a folder of its worktree) are moved into the execution's folder
 * and named. No ref of this repository can keep their files, and left in place the next attempt
 * would work over them (and fail on them: inspection refuses a nested repository). The project's
 * submodules stay, and so do those in ignored folders, which the reset keeps as it keeps every
 * ignored file (most often a dependency the set-up cloned), unless `ignoredToo` (a clean of the
 * ignored files follows).
 */
async function moveNestedAside(
  ctx: RunContext,
  run: TaskRun,
  { ignoredToo = false } = {},
): Promise<void> {
  if (nestedRepositories(run.worktree, 1).length === 0) return;
  const submodules = await submodulesOf(ctx.state.repo_root, run.start_sha ?? ctx.state.base_sha);
  const found = nestedRepositories(run.worktree, Infinity, submodules);
  const ignored = ignoredToo ? [] : await ignoredIn(run.worktree, found);
  const skip = new Set([...submodules, ...ignored]);
  if (found.every((path) => skip.has(path))) return;
  const keep = await keptFolderOf(ctx.paths.dir, run, `attempt-${run.attempts}`);
  let moved: string[];
  try {
    moved = await moveNestedRepositories(run.worktree, keep, skip);
  } catch (error) {
    const what =
      error instanceof NestedMoveError ? error.describe(keep) : `(${(error as Error).message})`;
    throw new TaskPreparationError(
      `attempt ${run.attempts} left nested git repositories in ${run.worktree} that could not all be moved out of the way: ${what}; what was not moved is where the agent left it: move it out of the worktree, then retry the task (parallel-executor resume <execution> --retry-failed)`,
    );
  }
  const message = `attempt ${run.attempts} left nested git repositories (${moved.join(', ')}), whose files no ref of this repository can keep: moved to ${keep} before the retry`;
  run.warnings = [...(run.warnings ?? []), message];
  ctx.emit({ type: 'warning', taskId: run.task_id, message });
}

export function keepPlaceOf(ctx: RunContext, run: TaskRun): KeepPlace {
  return {
    repoRoot: ctx.state.repo_root,
    executionId: ctx.state.execution_id,
    env: ctx.env,
    identity: ctx.settings.identity,
    toolFiles: ctx.replicated.get(run.task_id) ?? [],
  };
}

async function populateWorktree(ctx: RunContext, run: TaskRun): Promise<void> {
  const copied = await replicateConfig(
    ctx.state.repo_root,
    run.worktree,
    ctx.settings.replicate,
    await ctx.tracked(),
  );
  ctx.replicated.set(run.task_id, copied);
  await writeFile(join(run.worktree, CONTEXT_FILE), await contextFor(ctx, run));
  await rm(statusFileOf(ctx, run), { force: true });
  await mkdir(ctx.paths.statusDir, { recursive: true });
}

/** Per run, the paths kept out of git through info/exclude (or ignored already), or being so. */
const excludedIn = new WeakMap<RunContext, Map<string, Promise<void>>>();

/** Per run, the last change to info/exclude: one at a time, as each reads the file, then appends. */
const excludeQueue = new WeakMap<RunContext, Promise<unknown>>();

/** The tool files kept out of git before the execution's first look at the checkout. */
export interface ToolFilesExcluded {
  /** Paths excluded (or found ignored already). */
  paths: string[];
  /** The lines added to info/exclude. */
  added: string[];
}

/**
 * Before the first look at the user's checkout: the files the tool will put in every worktree
 * (context, summary, the copied configuration as it is now) kept out of git. Done later, the
 * exclusion itself would change what git says of the checkout (an untracked `.env` turning
 * ignored) and the watch would name it as a change made while the tasks ran.
 */
export async function excludeToolFilesFirst(
  repoRoot: string,
  replicate: readonly string[],
  tracked: Set<string>,
  commonDir?: string,
): Promise<ToolFilesExcluded> {
  const paths = [
    CONTEXT_FILE,
    SUMMARY_FILE,
    ...(await replicatedFiles(repoRoot, replicate, tracked)),
  ];
  return { paths, added: await excludeFromGit(repoRoot, paths, commonDir) };
}

/** What `excludeToolFilesFirst` did, for the run's tasks to take as done. */
export function toolFilesExcluded(ctx: RunContext, excluded: ToolFilesExcluded): void {
  const done = excludedIn.get(ctx) ?? new Map<string, Promise<void>>();
  excludedIn.set(ctx, done);
  for (const path of excluded.paths) done.set(path, Promise.resolve());
  noteExcluded(ctx, excluded.added);
}

/**
 * An agent's `git add -A` must not pick up what the tool put in its worktree: exclude those
 * paths (once, in the shared info/exclude; the run names the lines it added there).
 */
async function keepToolFilesOut(ctx: RunContext, run: TaskRun): Promise<void> {
  // Excluded before the run's first look (`excludeToolFilesFirst`), unless the task's copies
  // differ: then the first task to get here excludes them, and the tasks that come while it does
  // wait for that, instead of checking again.
  const done = excludedIn.get(ctx) ?? new Map<string, Promise<void>>();
  excludedIn.set(ctx, done);
  const all = [CONTEXT_FILE, SUMMARY_FILE, ...(ctx.replicated.get(run.task_id) ?? [])];
  const paths = all.filter((path) => !done.has(path));
  if (paths.length > 0) {
    // A failure is not kept: the next task tries again.
    const excluding: Promise<void> = exclude(ctx, paths).catch((error: unknown) => {
      for (const path of paths) if (done.get(path) === excluding) done.delete(path);
      throw error;
    });
    for (const path of paths) done.set(path, excluding);
  }
  await Promise.all(all.map((path) => done.get(path)));
}

/**
 * Appends to info/exclude, one change at a time. Only this run writes it: another parallel-executor
 * command on the repository waits for the repository's lock file, and git only reads it, so the
 * ref and worktree operations of other tasks need not wait for this.
 */
async function exclude(ctx: RunContext, paths: string[]): Promise<void> {
  const before = excludeQueue.get(ctx) ?? Promise.resolve();
  const added = before
    .catch(() => undefined)
    .then(() => excludeFromGit(ctx.state.repo_root, paths));
  excludeQueue.set(ctx, added);
  noteExcluded(ctx, await added);
}

/**
 * Said once, as the run goes: `checkout_changes` is for what changed in the checkout other than
 * the tool's own doing (the watch's review writes it whole).
 */
function noteExcluded(ctx: RunContext, added: readonly string[]): void {
  if (added.length === 0) return;
  ctx.emit({
    type: 'note',
    taskId: null,
    message: `.git/info/exclude: added ${added.join(', ')} so that agents cannot commit the files parallel-executor puts in their worktrees (remove the lines to undo)`,
  });
}

export function statusFileOf(ctx: RunContext, run: TaskRun): string {
  return join(ctx.paths.statusDir, `${fileKeyOf(run)}.json`);
}

async function contextFor(ctx: RunContext, run: TaskRun): Promise<string> {
  const task = ctx.plan.tasks.find((t) => t.id === run.task_id)!;
  const dependencies: DependencyContext[] = [];
  for (const id of run.depends_on) {
    const depRun = ctx.state.tasks[id];
    const depTask = ctx.plan.tasks.find((t) => t.id === id);
    if (depRun !== undefined) {
      dependencies.push({
        id,
        title: depRun.task,
        agent: depRun.agent,
        completedIn: 'this-execution',
        branch: depRun.branch,
        filesChanged: depRun.metrics?.files_changed ?? [],
        summary: await readFile(join(depRun.output_dir, SUMMARY_FILE), 'utf8').catch(() => null),
      });
    } else if (depTask !== undefined) {
      dependencies.push({
        id,
        title: depTask.title,
        agent: depTask.agents[0] ?? 'unassigned',
        completedIn: 'plan',
        branch: null,
        filesChanged: depTask.files,
        summary: null,
      });
    }
  }
  const inbox = agentKey(run.agent);
  const everyone = [
    ...new Set(Object.values(ctx.state.tasks).flatMap((t) => t.agents.map(agentKey))),
  ];
  return renderAgentContext({
    executionId: ctx.state.execution_id,
    task,
    agent: run.agent,
    groupTitle: ctx.plan.groups.find((g) => g.id === task.group)?.title ?? null,
    planTitle: ctx.plan.title,
    branch: run.branch,
    baseRef: ctx.state.base_ref,
    dependencies,
    otherAgents: everyone.filter((a) => a !== inbox && a !== 'all'),
    inbox,
    messaging: ctx.settings.messaging,
    port: run.port,
    portsPerAgent: ctx.settings.portsPerAgent,
    gitReadOnly: ctx.runner.gitReadOnly === true,
    earlier:
      run.attempts > 0 && run.start_sha !== null
        ? {
            attempts: run.attempts,
            reason: run.last_reason ?? null,
            startSha: run.start_sha,
            commits: await commitsSince(run.worktree, run.start_sha),
          }
        : null,
  });
}

/** Commits HEAD holds beyond `start` (a retry's branch: the earlier work, a fix by hand). */
async function commitsSince(worktree: string, start: string): Promise<number> {
  const { stdout } = await git(worktree, ['rev-list', '--count', `${start}..HEAD`, '--']);
  return Number(stdout.trim()) || 0;
}
