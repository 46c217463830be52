import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { PreflightError, UsageError } from '../errors.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState } from '../state/schema.js';
import { createStateWriter } from '../monitor/state-store.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import type { Plan } from '../plan/schema.js';
import {
  LOCAL_SELECTION,
  nothingLeftHint,
  nothingToRun,
  selectTasks,
  type Selection,
} from '../schedule/select.js';
import { createMutex } from '../workspace/mutex.js';
import { acquireRepoLock, type RepoLock } from '../workspace/repo-lock.js';
import {
  lookAtPool,
  poolDirOf,
  poolKeepPrefix,
  WorktreePool,
  type PoolLook,
} from '../workspace/pool.js';
import { trackedFiles } from '../workspace/replicate.js';
import { addConfigGuard } from '../workspace/git-exec.js';
import {
  carriedOver,
  configEntries,
  configFileEntries,
  configGuard,
  unionInUse,
} from '../workspace/config-guard.js';
import { assignPorts } from '../workspace/ports.js';
import { excludeToolDir, findRepoRoot, inspectRepo, type RepoInfo } from '../workspace/repo.js';
import { watchBudget } from './budget.js';
import {
  lookAtCheckout,
  previousStartConfig,
  watchCheckout,
  type CheckoutWatch,
  type FirstLook,
} from './checkout-watch.js';
import { save, type RunContext } from './context.js';
import type { ExecutionHooks } from './hooks.js';
import {
  executionWorktreeRoot,
  initialState,
  planLayout,
  worktreeRootOf,
  type TaskLayout,
} from './layout.js';
import { executeTasks, settledStatus } from './loop.js';
import { claimExecutionId, executionIdFor, executionPaths, type ExecutionPaths } from './paths.js';
import { runPreflight, type PreflightReport } from './preflight.js';
import { excludeToolFilesFirst, toolFilesExcluded, type ToolFilesExcluded } from './prepare.js';
import { sweepExecutionProcesses } from './processes.js';
import { writeRunRecord } from './record.js';
import { resolveSettings, type ExecutionSettings } from './settings.js';

/** What every entry point (run, resume) takes besides its own arguments. */
export interface EngineOptions {
  /** Any directory inside the repository (the shell's cwd). */
  cwd: string;
  runner: AgentRunner;
  /** The agents' environment; the shell builds it (the engine never reads process.env). */
  env: Record<string, string>;
  settings?: Partial<ExecutionSettings>;
  hooks?: ExecutionHooks;
  /** Called on every change, after the state was updated; for dashboards and logs. */
  onEvent?: (event: ExecutionEvent, state: ExecutionState) => void;
  clock?: Clock;
  logger?: Logger;
  /** Aborting stops the agents cleanly (SIGTERM, grace, SIGKILL) and leaves a resumable state. */
  signal?: AbortSignal;
  /** Recorded so that `resume` can tell whether this orchestrator is still alive. */
  orchestratorPid?: number;
}

export interface RunOptions extends EngineOptions {
  plan: Plan;
  /** The plan's path as the user gave it (recorded in the state). */
  planFile: string;
  /** A group id (any case), or `all`: their pending tasks (see `selectTasks`). */
  group: string;
  /** Named tasks (a retry): exactly these, whatever their status but completed; wins over group. */
  tasks?: readonly string[] | null;
  /** Called with the go/no-go report before anything is created. */
  onPreflight?: (report: PreflightReport) => void;
  /** Kept in the execution's run.json for the shell to read back on resume (e.g. its agent). */
  shellRecord?: Record<string, unknown>;
}

export interface ExecutionResult {
  state: ExecutionState;
  stateFile: string;
  executionDir: string;
}

/** What `--dry-run` shows: the checks, and what would be created and run. */
export interface ExecutionPreview {
  preflight: PreflightReport;
  repoRoot: string;
  baseRef: string;
  baseSha: string;
  /** The id and folder the execution would get (if started now). */
  executionId: string;
  executionDir: string;
  worktreeRoot: string;
  group: string;
  tasks: Array<TaskLayout & { title: string; agents: string[]; dependsOn: string[] }>;
  alreadyCompleted: string[];
  setupCommand: string | null;
  runner: string;
}

interface Prepared {
  repo: RepoInfo;
  selection: Selection;
  settings: ExecutionSettings;
  preflight: PreflightReport;
  /** The checkout's tracked files as pre-flight listed them: the run needs them too. */
  tracked: Promise<Set<string>>;
  /** With `lookAhead` and `workspace.pool`: the pool looked at while pre-flight ran. */
  pool: PoolLook | undefined;
}

/** What a new execution started while it got ready, for the run to use rather than ask again. */
interface Started {
  firstLook: FirstLook;
  tracked: Promise<Set<string>>;
  excluded: ToolFilesExcluded;
  /** The pool as it was looked at while the run got ready (with `workspace.pool`). */
  pool: PoolLook | undefined;
}

async function prepare(
  options: RunOptions,
  knownRoot?: string,
  /** A run (not a dry run): the pool's worktrees its first tasks will take are looked at now. */
  lookAhead = false,
): Promise<Prepared> {
  const settings = resolveSettings(options.settings);
  const root = knownRoot ?? (await findRepoRoot(options.cwd));
  // Listed beside the look at HEAD and the status: pre-flight and the run both need it.
  const tracked = trackedFiles(root);
  tracked.catch(() => undefined);
  const selection = select(options);
  // Beside inspectRepo and pre-flight: it only reads.
  const pool =
    lookAhead && settings.pool > 0
      ? lookAtPool(
          poolDirOf(worktreeRootOf(root, settings)),
          root,
          Math.min(settings.pool, selection.ready.length),
        )
      : undefined;
  const repo = await inspectRepo(root);
  const worktreeRoot = worktreeRootOf(root, settings);
  const preflight = await runPreflight({
    repo,
    taskCount: selection.tasks.length,
    completedCount: selection.alreadyCompleted.length,
    worktreeRoot,
    minFreeDiskMb: settings.minFreeDiskMb,
    requiredEnv: settings.requiredEnv,
    env: options.env,
    ports: assignPorts(
      selection.tasks.map((task) => task.agents),
      settings.portBase,
      settings.portsPerAgent,
    ),
    portsPerAgent: settings.portsPerAgent,
    runner: options.runner,
    replicate: settings.replicate,
    tracked,
    taskIds: selection.tasks.map((task) => task.id),
  });
  options.onPreflight?.(preflight);
  return { repo, selection, settings, preflight, tracked, pool };
}

/**
 * The shared selection with one worker per agent. One execution runs all it selects, so a task
 * held back for work outside it is reported, and an execution with nothing to run is refused.
 */
function select(options: RunOptions): Selection {
  const selection = selectTasks(
    options.plan,
    { group: options.group, tasks: options.tasks ?? null },
    LOCAL_SELECTION,
  );
  if (selection.tasks.length === 0) {
    throw new UsageError(
      nothingToRun(selection),
      nothingLeftHint(selection) ??
        'Run what they wait for first (--group all runs everything in order), or retry a failed task with --tasks ID.',
    );
  }
  for (const { task, reason } of selection.left) {
    if (task.status === 'completed') continue;
    options.logger?.warn('a task of the selection does not run', { task: task.id, reason });
  }
  return selection;
}

/** `--dry-run`: pre-flight and the layout, creating nothing. */
export async function previewExecution(options: RunOptions): Promise<ExecutionPreview> {
  const { repo, selection, settings, preflight } = await prepare(options);
  const executionId = executionIdFor((options.clock ?? systemClock).now());
  const layouts = await planLayout(repo.root, selection.tasks, settings, executionId);
  return {
    preflight,
    repoRoot: repo.root,
    baseRef: repo.branch ?? repo.headSha,
    baseSha: repo.headSha,
    executionId,
    executionDir: executionPaths(repo.root, executionId).dir,
    worktreeRoot: executionWorktreeRoot(repo.root, settings, executionId),
    group: selection.group,
    tasks: layouts.map((layout, i) => {
      const task = selection.tasks[i]!;
      return { ...layout, title: task.title, agents: task.agents, dependsOn: task.dependsOn };
    }),
    alreadyCompleted: selection.alreadyCompleted.map((task) => task.id),
    setupCommand: settings.setupCommand,
    runner: options.runner.kind,
  };
}

/**
 * `parallel-executor run`: pre-flight (throws PreflightError on no-go, having reported it), then
 * every selected task in its own worktree by a real agent, scheduled by dependencies, with the
 * state saved atomically on every change. Resolves when every task has settled or the signal
 * stopped the run; the state says which.
 */
export async function runExecution(options: RunOptions): Promise<ExecutionResult> {
  // Before anything is checked or created: a second run in the same repository stops here.
  const root = await findRepoRoot(options.cwd);
  const lock = await acquireRepoLock(root, {
    command: 'run',
    executionId: null,
    pid: options.orchestratorPid ?? process.pid,
  });
  try {
    return await startExecution(options, lock, root);
  } finally {
    await lock.release();
  }
}

async function startExecution(
  options: RunOptions,
  lock: RepoLock,
  root: string,
): Promise<ExecutionResult> {
  const { repo, selection, settings, preflight, tracked, pool } = await prepare(
    options,
    root,
    true,
  );
  if (!preflight.go) {
    const failed = preflight.checks.filter((check) => check.level === 'fail');
    throw new PreflightError(
      `pre-flight checks failed: ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`,
      failed.map((check) => check.hint).find((hint) => hint !== null) ?? null,
    );
  }
  const clock = options.clock ?? systemClock;
  await excludeToolDir(repo.root, repo.commonDir);
  const excluded = await excludeToolFilesFirst(
    repo.root,
    settings.replicate,
    await tracked,
    repo.commonDir,
  );
  // The checkout as it is before any task starts, looked at while the execution is set up.
  const firstLook: FirstLook = {
    commonDir: repo.commonDir,
    snapshot: lookAtCheckout(
      repo.root,
      worktreeRootOf(repo.root, settings),
      options.env,
      repo.commonDir,
      excluded.paths,
    ),
  };
  firstLook.snapshot.catch(() => undefined);
  const executionId = await claimExecutionId(repo.root, clock.now());
  await lock.setExecution(executionId);
  const layouts = await planLayout(repo.root, selection.tasks, settings, executionId);
  const paths = executionPaths(repo.root, executionId);
  await mkdir(paths.logsDir, { recursive: true });
  await writeFile(paths.planSnapshot, `${JSON.stringify(options.plan, null, 2)}\n`);
  await writeRunRecord(paths, { settings, shell: options.shellRecord ?? {} });
  const state = initialState({
    executionId,
    plan: options.plan,
    planFile: relative(repo.root, resolve(options.cwd, options.planFile)),
    selection,
    layouts,
    repoRoot: repo.root,
    baseRef: repo.branch!,
    baseSha: repo.headSha,
    now: clock.now(),
    orchestratorPid: options.orchestratorPid ?? process.pid,
  });
  return execute(options, state, options.plan, paths, settings, false, new Set(), {
    firstLook,
    tracked,
    excluded,
    pool,
  });
}

/**
 * Shared by run and resume: the loop, then the hooks, then the final state. `collectOnResume`:
 * tasks whose agent's work resume found, to be collected without running the agent.
 */
export async function execute(
  options: EngineOptions,
  state: ExecutionState,
  plan: Plan,
  paths: ExecutionPaths,
  settings: ExecutionSettings,
  resumed: boolean,
  collectOnResume: ReadonlySet<string> = new Set(),
  started?: Started,
): Promise<ExecutionResult> {
  const signal = options.signal ?? new AbortController().signal;
  // Every running task listens to it (its attempt, its agent, its setup command): 32 agents at
  // once are not a leak.
  setMaxListeners(10 + 4 * state.task_order.length, signal);
  const tracked = started?.tracked ?? trackedFiles(state.repo_root);
  // On resume, before this process's first look (a new run did so before its own).
  const excluded =
    started?.excluded ??
    (await excludeToolFilesFirst(state.repo_root, settings.replicate, await tracked));
  const checkout = await watchCheckout({
    state,
    executionDir: paths.dir,
    worktreeRoot: worktreeRootOf(state.repo_root, settings),
    env: options.env,
    watched: excluded.paths,
    identity: settings.identity,
    ...(started === undefined ? {} : { firstLook: started.firstLook }),
  });
  // From now until the end (integration and validation included), the tool's git does not run
  // filters, merge drivers or other commands set in the shared config since the start, nor merge
  // drivers set while the previous execution ran and still there.
  const parse = (text: string) => configEntries(state.repo_root, text, options.env);
  const [previous, union] = await Promise.all([
    previousStartConfig(state.repo_root, state.execution_id),
    unionInUse(state.repo_root, state.base_sha, checkout.startConfig.infoAttributes, options.env),
  ]);
  const carried =
    previous === null ? [] : await carriedOver(previous.text, checkout.startConfig.text, parse);
  const releaseGuard = addConfigGuard(
    configGuard({
      commonDir: dirname(checkout.startConfig.file),
      startText: checkout.startConfig.text,
      startExclude: checkout.startConfig.infoExclude,
      unionInUse: union,
      roots: [state.repo_root, worktreeRootOf(state.repo_root, settings)],
      carried: new Set(carried.map(([key, value]) => `${key}\n${value}`)),
      parse,
      parseFile: (file) => configFileEntries(state.repo_root, file, options.env),
      home: options.env['HOME'],
    }),
  );
  const carriedNote =
    previous === null || carried.length === 0
      ? null
      : `the repository's git config (${checkout.startConfig.file}) has settings that came while execution ${previous.id} ran or since: ${[...new Set(carried.map(([key]) => key))].join(', ')}. This run's merges do not use them (a driver an agent set can hide a conflict); if an agent set them, remove each with git config --local --unset-all <key>; if you did, they are used from the next run on`;
  try {
    return await executeGuarded(options, state, plan, paths, settings, resumed, {
      collectOnResume,
      started,
      checkout,
      signal,
      tracked,
      excluded,
      carriedNote,
    });
  } finally {
    releaseGuard();
  }
}

async function executeGuarded(
  options: EngineOptions,
  state: ExecutionState,
  plan: Plan,
  paths: ExecutionPaths,
  settings: ExecutionSettings,
  resumed: boolean,
  run: {
    collectOnResume: ReadonlySet<string>;
    started: Started | undefined;
    checkout: CheckoutWatch;
    signal: AbortSignal;
    tracked: Promise<Set<string>>;
    excluded: ToolFilesExcluded;
    carriedNote: string | null;
  },
): Promise<ExecutionResult> {
  const { collectOnResume, started, checkout, signal, tracked, excluded, carriedNote } = run;
  const clock = options.clock ?? systemClock;
  const ctx: RunContext = {
    state,
    plan,
    paths,
    settings,
    runner: options.runner,
    env: options.env,
    hooks: options.hooks ?? {},
    clock,
    logger: options.logger ?? silentLogger,
    signal,
    writer: createStateWriter(paths.stateFile),
    repoLock: createMutex(),
    ...(settings.pool > 0
      ? {
          pool: new WorktreePool(
            poolDirOf(worktreeRootOf(state.repo_root, settings)),
            state.repo_root,
            poolKeepPrefix(state.execution_id),
            started?.pool,
          ),
        }
      : {}),
    replicated: new Map(),
    collectOnResume,
    tracked: () => tracked,
    checkout,
    emit: (event) => {
      checkout.observe(event);
      options.onEvent?.(event, state);
    },
    budget: watchBudget({
      state,
      limits: settings.budget,
      now: () => clock.now().getTime(),
      notify: (message) => {
        save(ctx);
        ctx.emit({ type: 'warning', message, taskId: null });
      },
    }),
  };
  toolFilesExcluded(ctx, excluded);
  // Listed while the first tasks get ready.
  ctx.pool?.list().catch(() => undefined);
  await ctx.writer.save(state);
  ctx.emit({ type: 'execution-started', executionId: state.execution_id, resumed });
  if (!resumed) announceWarnings(ctx);
  if (carriedNote !== null) ctx.emit({ type: 'warning', message: carriedNote, taskId: null });
  try {
    await executeTasks(ctx);
  } finally {
    ctx.budget.close();
  }
  // Whatever an agent left running (a dev server under setsid) ends with the run.
  const nothingLeft = await sweepExecutionProcesses(
    state,
    ctx.emit,
    settings.graceMs,
    'at the end of the run',
  );
  const settled = settledStatus(state, signal.aborted, ctx.halted !== undefined);
  const finish = settled === 'cancelled' ? undefined : ctx.hooks.onAllSettled;
  // Until the hook (integration, the report) has run, the execution is not finished: killed now,
  // the state must say so, for `status`, `clean` and `resume` (which integrates again).
  if (finish === undefined) state.status = settled;
  for (const change of await reviewCheckout(ctx, checkout, [], { nothingLeft })) {
    ctx.emit({ type: 'note', message: `your checkout changed: ${change}`, taskId: null });
  }
  try {
    if (finish !== undefined) {
      await ctx.writer.save(state);
      await finish(state, async () => {
        save(ctx);
        await ctx.writer.flush();
      });
    }
  } finally {
    // A hook that did not settle the status itself (or threw) leaves it to the tasks.
    if (state.status === 'in_progress') state.status = settled;
    // Even when a hook throws, the state on disk says the tasks are settled. A hook that wrote a
    // report stamped the end already; the report and the state keep the same time.
    state.finished_at ??= ctx.clock.now().toISOString();
    // The plan is the one file the tool itself may write into the checkout (`working-tree`).
    // Without a hook nothing ran since the review just above: it stands.
    if (finish !== undefined) {
      await reviewCheckout(ctx, checkout, [state.plan_file.split('\\').join('/')]);
    }
    save(ctx);
    await ctx.writer.flush();
  }
  ctx.emit({ type: 'execution-finished', status: state.status });
  return { state, stateFile: paths.stateFile, executionDir: paths.dir };
}

/** The checkout's differences from the start of the execution (also in the state). */
async function reviewCheckout(
  ctx: RunContext,
  checkout: CheckoutWatch,
  toolPaths: readonly string[] = [],
  options: { nothingLeft?: boolean } = {},
): Promise<string[]> {
  try {
    return await checkout.review(toolPaths, options);
  } catch (error) {
    const why = `your checkout could not be compared with how it was at the start: ${(error as Error).message}`;
    ctx.logger.error(why);
    ctx.state.checkout_changes = [...(ctx.state.checkout_changes ?? []), why];
    return [why];
  }
}

/** What the layout decided against the plan (a Branch cell that could not be used as written). */
function announceWarnings(ctx: RunContext): void {
  for (const id of ctx.state.task_order) {
    for (const message of ctx.state.tasks[id]!.warnings ?? []) {
      ctx.emit({ type: 'warning', message, taskId: id });
    }
  }
}
