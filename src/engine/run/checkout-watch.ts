import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState, TaskRunStatus } from '../state/schema.js';
import { isActive } from '../schedule/scheduler.js';
import {
  compareCheckouts,
  differing,
  snapshotCheckout,
  stashDifference,
  stashHeld,
  taskCommits,
  withToolWrites,
  type CheckoutChange,
  type CheckoutSnapshot,
} from '../workspace/checkout.js';
import { gitCommonDir } from '../workspace/repo.js';
import { executionsDir } from './paths.js';
import { holdingCommit, snapshotWorktree, taskBackupPrefix } from '../workspace/backup.js';
import { git } from '../workspace/git-exec.js';
import { DEFAULT_IDENTITY, type GitIdentity } from '../workspace/identity.js';
import { recordedRepairs } from '../state/repairs.js';

/**
 * The user's branch tips and stash entries at the start, held by one ref
 * (`<checkoutKeepPrefix>/at-start`, a commit with each as a parent). An agent's `git branch -D`, or
 * `git reflog expire --expire=now --all` (which drops every stash entry below the top), followed
 * by `git gc --prune=now` deletes such commits, possibly before the watch looks again and keeps
 * what went (chaos --extra seeds 8037, 10007). Held, they are still there to keep and to name.
 */
async function holdAtStart(
  repoRoot: string,
  executionId: string,
  before: CheckoutSnapshot,
  options: Pick<CheckoutWatchOptions, 'env' | 'identity'>,
): Promise<void> {
  const tips = Object.entries(before.refs)
    .filter(([ref]) => ref.startsWith('refs/heads/'))
    .map(([, sha]) => sha);
  const held = [...new Set([...tips, ...stashHeld(before)])];
  if (held.length === 0) return;
  const message = "parallel-executor: the branch tips and stash entries at the run's start";
  const commit = await holdingCommit(
    repoRoot,
    held,
    message,
    options.identity ?? DEFAULT_IDENTITY,
    options.env,
  );
  await git(repoRoot, ['update-ref', '-m', message, atStartRef(executionId), commit], {
    env: options.env,
  });
}

/**
 * The ref holding the branch tips and stash entries of the execution's start (`holdAtStart`). A
 * hold for while the execution can run: what an agent moved or deleted has its own ref by its end
 * (`ref-gone-<sha>`, `stash-gone-<sha>`), so a clean that leaves nothing of the execution deletes it.
 */
export function atStartRef(executionId: string): string {
  return `${checkoutKeepPrefix(executionId)}/at-start`;
}

/** In the execution folder: the checkout as it was when the run started, and who changed what. */
export const CHECKOUT_FILE = 'checkout.json';

interface Stored {
  before: CheckoutSnapshot;
  /** Change key → who did it, in words (found while the run went on, kept for resume). */
  blame: Record<string, string>;
  /**
   * Branches the tool made that the state no longer names: an integration (and its repairs) a
   * resume set aside. Still the tool's, not a change to name.
   */
  toolRefs?: string[];
  /** Change key → the refs what it took or brought is kept under (keepStashEntries). */
  kept?: Record<string, string[]>;
}

/** `refs/parallel-executor/<execution>/checkout`: what the watch keeps of changes to the checkout. */
export function checkoutKeepPrefix(executionId: string): string {
  return taskBackupPrefix(executionId, 'checkout');
}

/** Before a resume sets an integration aside: its branches stay the tool's own. */
export async function rememberToolRefs(
  executionDir: string,
  branches: readonly string[],
): Promise<void> {
  const file = join(executionDir, CHECKOUT_FILE);
  const stored = await load(file);
  if (stored === null) return;
  const refs = branches.map((branch) => `refs/heads/${branch}`);
  stored.toolRefs = [...new Set([...(stored.toolRefs ?? []), ...refs])];
  await store(file, stored);
}

/**
 * Watches the user's checkout while agents run. The snapshot taken when the execution started is
 * stored in its folder, so `resume` compares with the original. After each task's agent is done
 * the checkout is looked at again: a change is blamed on a task when a commit it brought in is
 * one that task made (on its branch, or in its worktree's HEAD history), else when that task was
 * the only one running since the last look; that task fails, with the change as its reason (a new
 * branch or tag only earns it a warning: nothing of the user's was changed). Nothing is repaired: every difference is named in `state.checkout_changes`.
 */
export interface CheckoutWatch {
  /** Follows task statuses (which tasks could have written since the last look). */
  observe(event: ExecutionEvent): void;
  /** After a task's agent ended: why the task fails (it changed the checkout), or null. */
  afterAgent(taskId: string): Promise<string | null>;
  /**
   * Every difference from the start, named in `state.checkout_changes`. `toolPaths`: files the
   * tool itself wrote into the checkout since the last review (the plan, in `working-tree` mode).
   * `nothingLeft`: the caller found no process of the run still there (see REVIEW_REUSE_MS).
   */
  review(toolPaths?: readonly string[], options?: { nothingLeft?: boolean }): Promise<string[]>;
  /**
   * The repository's git config file and its text when the execution started, and the texts of
   * `.git/info/attributes` and `exclude` then (undefined: a snapshot stored by an older version).
   */
  readonly startConfig: {
    file: string;
    text: string;
    infoAttributes: string | undefined;
    infoExclude: string | undefined;
  };
}

/**
 * The first review goes by the last look after an agent instead of taking its own when that look
 * ended less than this ago, no process of the run could write since it started (no agent, set-up
 * or validation ran then or after) and none was found still there: in a big checkout a look is a
 * `git status` of every file, and this one would see what that one saw.
 */
const REVIEW_REUSE_MS = 250;

/** How long after an agent's end a look waits for others to end, and how long at most. */
const GATHER_MS = 15;
const GATHER_MAX_MS = 100;

/** Statuses in which a task runs processes of its own (an agent, a set-up, validation checks). */
const RUNS_PROCESSES: ReadonlySet<TaskRunStatus> = new Set([
  'preparing',
  'in_progress',
  'validating',
]);

export interface CheckoutWatchOptions {
  state: ExecutionState;
  executionDir: string;
  /** The worktree root, left out of the comparison when it is inside the repository. */
  worktreeRoot: string;
  env: Record<string, string>;
  /** A new execution's first look, started by the caller while it got ready. */
  firstLook?: FirstLook;
  /** The configuration the tool copies into worktrees (and keeps out of git): its content is watched. */
  watched?: readonly string[];
  /** Who the commits that keep an agent's own worktree are by (default: the tool's identity). */
  identity?: GitIdentity;
}

/** A new execution's first look, started while it gets ready, and the common dir it used. */
export interface FirstLook {
  snapshot: Promise<CheckoutSnapshot>;
  commonDir: string;
}

/**
 * One look at the user's checkout, the tool's own folders (and the worktree root) left out, but
 * for the worktrees agents added in their execution's folder (`agents`: that folder, and the
 * tasks' worktrees, which are the tool's).
 */
export async function lookAtCheckout(
  repoRoot: string,
  worktreeRoot: string,
  env: Record<string, string>,
  commonDir?: string,
  watched?: readonly string[],
  agents?: { folder: string; toolWorktrees: readonly string[] },
): Promise<CheckoutSnapshot> {
  const inside = relative(repoRoot, worktreeRoot);
  const excludePaths =
    inside === '' || inside.startsWith('..') || inside.startsWith(sep)
      ? []
      : [inside.split(sep).join('/')];
  return snapshotCheckout(repoRoot, {
    env,
    excludePaths,
    commonDir: commonDir ?? (await gitCommonDir(repoRoot, env)),
    ...(watched === undefined ? {} : { watched }),
    toolFolders: [worktreeRoot],
    ...(agents === undefined
      ? {}
      : { agentFolders: [agents.folder], toolWorktrees: agents.toolWorktrees }),
  });
}

export async function watchCheckout(options: CheckoutWatchOptions): Promise<CheckoutWatch> {
  const { state, env } = options;
  const repoRoot = state.repo_root;
  const file = join(options.executionDir, CHECKOUT_FILE);
  const common = options.firstLook?.commonDir ?? (await gitCommonDir(repoRoot, env));
  const agents = () => ({
    folder: join(options.worktreeRoot, state.execution_id),
    toolWorktrees: Object.values(state.tasks).map((run) => resolve(repoRoot, run.worktree)),
  });
  const take = () =>
    lookAtCheckout(repoRoot, options.worktreeRoot, env, common, options.watched, agents());
  const loaded = await load(file);
  const stored = loaded ?? { before: await (options.firstLook?.snapshot ?? take()), blame: {} };
  // The first look of this process starts now: what changed before it (between a stopped run and
  // its resume) is named, never blamed on a task of this process.
  const ours = (ref: string) => isToolRef(ref, state) || (stored.toolRefs ?? []).includes(ref);
  let last = loaded === null ? stored.before : await take();
  if (loaded !== null) {
    for (const change of await compareCheckouts(repoRoot, stored.before, last, {
      env,
      isToolRef: ours,
    })) {
      stored.blame[change.key] ??= 'before this resume (who did it cannot be told)';
    }
  }
  await Promise.all([
    loaded === null
      ? holdAtStart(repoRoot, state.execution_id, stored.before, options)
      : Promise.resolve(),
    store(file, stored),
  ]);
  const active = new Set<string>();
  const windows = new Set<Set<string>>();
  let window = open();
  const unchecked = new Set<string>();
  const pending = new Map<string, string[]>();
  let queue: Promise<unknown> = Promise.resolve();
  let reviewed: Set<string> | null = null;
  let waiting: { ids: string[]; done: Promise<void>; last: number } | null = null;
  // Whether a process of the run could have written since the last look started (and when that
  // look ended).
  let busySinceLook = true;
  let lastLookEnded = 0;
  let wakeGather: (() => void) | null = null;

  function open(): Set<string> {
    const set = new Set(active);
    windows.add(set);
    return set;
  }

  const compareOptions = () => ({ env, isToolRef: ours });

  /**
   * Before a look after agents: while other agents still run and the last one ended less than
   * GATHER_MS ago, the look waits (GATHER_MAX_MS at most), so that agents ending close together
   * (started together, given the same kind of work) share it rather than take two in a row, the
   * first of them slowed by the others' collection. It ends as soon as no agent runs and every
   * one that ended has joined it.
   */
  async function gather(): Promise<void> {
    const started = Date.now();
    for (;;) {
      // An agent still running, or one that ended and is on its way here (its status says
      // collecting, its look is yet to come, it has not joined this one).
      const running = Object.values(state.tasks).some(
        (run) =>
          run.status === 'in_progress' ||
          (run.status === 'collecting' &&
            unchecked.has(run.task_id) &&
            waiting?.ids.includes(run.task_id) !== true),
      );
      const quiet = Date.now() - (waiting?.last ?? 0);
      if (!running || quiet >= GATHER_MS || Date.now() - started >= GATHER_MAX_MS) return;
      // Woken early when a task's status changes: once the last agent has ended, nothing is
      // left to wait for (the end of the run waits on this look).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(GATHER_MS - quiet, GATHER_MAX_MS - (Date.now() - started)),
        );
        wakeGather = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeGather = null;
    }
  }

  /** One look for every task whose agent ended since the last one started (`taskIds`). */
  async function look(taskIds: readonly string[]): Promise<void> {
    busySinceLook = Object.values(state.tasks).some((run) => RUNS_PROCESSES.has(run.status));
    lastLookEnded = 0;
    const next = open();
    const now = await take();
    windows.delete(window);
    const suspects = window;
    window = next;
    const changes = await compareCheckouts(repoRoot, last, now, compareOptions());
    last = now;
    for (const taskId of taskIds) unchecked.delete(taskId);
    if (changes.length > 0) await settle(changes, now, suspects, taskIds);
    lastLookEnded = Date.now();
  }

  /**
   * What a look found changed (`changes`, in `now`): kept where it can be lost, blamed, and put on
   * the tasks it names, as a warning or (`taskIds`, or a task not looked after yet) a failure.
   */
  async function settle(
    changes: readonly CheckoutChange[],
    now: CheckoutSnapshot,
    suspects: ReadonlySet<string>,
    taskIds: readonly string[],
  ): Promise<void> {
    await keepWhatChanged(now);
    const culprits = await blameChanges(state, changes, suspects, env);
    for (const change of changes) {
      const culprit = culprits.get(change.key)!;
      stored.blame[change.key] ??= culprit.text;
      if (culprit.taskId === null) continue;
      const reason = withKept(change);
      // Timing alone is a suspicion, not proof (the user may have been working in the checkout):
      // it warns on the task; only a commit the task made fails it.
      if (change.addition === true || !culprit.proven) {
        const run = state.tasks[culprit.taskId];
        if (run !== undefined) {
          const suffix = change.addition === true ? ' in your repository' : ` (${culprit.why})`;
          run.warnings = [...(run.warnings ?? []), `${reason}${suffix}`];
        }
        continue;
      }
      if (taskIds.includes(culprit.taskId) || unchecked.has(culprit.taskId)) {
        pending.set(culprit.taskId, [...(pending.get(culprit.taskId) ?? []), reason]);
      }
    }
    await store(file, stored);
  }

  /**
   * What a change to the checkout since the start would take out of reach, kept under the
   * execution's refs (each part does nothing when its part of the checkout is as it was).
   */
  async function keepWhatChanged(now: CheckoutSnapshot): Promise<void> {
    await keepStashEntries(now);
    await keepAddedWorktrees(now);
    await keepRefChanges(now);
  }

  /**
   * An agent's `git stash` puts its uncommitted work in the stash all worktrees share, where the
   * user's next `git stash drop` or `clear` loses it for good; an agent's `git stash pop` or
   * `drop` takes an entry of the user's out of it, to be pruned by the next gc. Every entry that
   * came since the start, and every one that went, is kept under a ref of the execution
   * (`<checkoutKeepPrefix>/stash-<sha>`, `stash-gone-<sha>`), which the change's sentence names.
   */
  async function keepStashEntries(now: CheckoutSnapshot): Promise<void> {
    const { added, dropped } = stashDifference(stored.before, now);
    const entries = [
      ...added.map((sha) => ['stash', sha] as const),
      ...dropped.map((sha) => ['stash-gone', sha] as const),
    ];
    if (entries.length === 0) return;
    const refs = new Set(stored.kept?.['stash'] ?? []);
    for (const [what, sha] of entries) {
      const ref = `${checkoutKeepPrefix(state.execution_id)}/${what}-${sha.slice(0, 12)}`;
      if (refs.has(ref)) continue;
      const made = await git(repoRoot, ['update-ref', '-m', 'the stash changed', ref, sha], {
        env,
        allowExitCodes: [128],
      });
      // 128: the entry's commit is gone already (a gc pruned what went); nothing to keep.
      if (made.exitCode === 0) refs.add(ref);
    }
    (stored.kept ??= {})['stash'] = [...refs];
  }

  /**
   * A worktree an agent added (`git worktree add ../x -b x`) holds the commits it made there and
   * what it left uncommitted; no task's collection looks at it, and the user's `git worktree
   * remove --force` would lose the latter. Each worktree added since the start is kept as it is
   * (HEAD and its uncommitted files) under `<checkoutKeepPrefix>/worktree-<sha>`, one ref per
   * state seen, which the change's sentence names.
   */
  async function keepAddedWorktrees(now: CheckoutSnapshot): Promise<void> {
    const before = stored.before.worktrees;
    // An older stored snapshot did not look at worktrees: which were added cannot be told.
    if (before === undefined) return;
    const identity = options.identity ?? DEFAULT_IDENTITY;
    for (const folder of Object.keys(now.worktrees ?? {})) {
      if (before[folder] !== undefined) continue;
      const key = `worktree:${folder}`;
      const message = `parallel-executor: a worktree added during the run, as it was (${folder})`;
      const snapshot = await snapshotWorktree(folder, env, identity, message).catch(() => null);
      if (snapshot === null) continue;
      const refs = stored.kept?.[key] ?? [];
      // The same state again (a snapshot commit differs by its date alone): nothing new to keep.
      if (refs.length > 0 && (await sameState(refs.at(-1)!, snapshot.sha))) continue;
      const ref = `${checkoutKeepPrefix(state.execution_id)}/worktree-${snapshot.sha.slice(0, 12)}`;
      await git(
        repoRoot,
        ['update-ref', '-m', 'a worktree added during the run', ref, snapshot.sha],
        {
          env,
        },
      );
      (stored.kept ??= {})[key] = [...refs, ref];
    }
  }

  /**
   * A branch or tag an agent created, moved or deleted in the repository (`git branch scratch`
   * with commits on it from a worktree it added and removed, `git branch -f main HEAD~3`, `git
   * branch -D`): the commits it brought are kept only by that branch, which the user may delete
   * as a stray; those it took away only by a reflog that expires, or by nothing once the branch is
   * deleted. Each tip that came is kept under `<checkoutKeepPrefix>/ref-<sha>`, each that went
   * under `ref-gone-<sha>`, which the change's sentence names.
   */
  async function keepRefChanges(now: CheckoutSnapshot): Promise<void> {
    const options = compareOptions();
    const updates: string[] = [];
    const prefix = checkoutKeepPrefix(state.execution_id);
    for (const [ref, was, is] of differing(stored.before.refs, now.refs)) {
      if (options.isToolRef(ref)) continue;
      const key = `ref:${ref}`;
      const refs = new Set(stored.kept?.[key] ?? []);
      for (const [what, sha] of [
        ['ref', is],
        ['ref-gone', was],
      ] as const) {
        if (sha === undefined) continue;
        const kept = `${prefix}/${what}-${sha.slice(0, 12)}`;
        if (refs.has(kept)) continue;
        refs.add(kept);
        updates.push(`update ${kept} ${sha}\n`);
      }
      (stored.kept ??= {})[key] = [...refs];
    }
    if (updates.length === 0) return;
    // One transaction; a tip that is gone already (a gc pruned a deleted branch's) fails it all,
    // so then each alone, and those git cannot make are not named.
    const all = await git(repoRoot, ['update-ref', '-m', 'a ref changed', '--stdin'], {
      env,
      input: updates.join(''),
      allowExitCodes: [128],
    });
    if (all.exitCode === 0) return;
    for (const line of updates) {
      const [, kept, sha] = line.trim().split(' ');
      const made = await git(repoRoot, ['update-ref', '-m', 'a ref changed', kept!, sha!], {
        env,
        allowExitCodes: [128],
      });
      if (made.exitCode === 0) continue;
      for (const [key, refs] of Object.entries(stored.kept ?? {})) {
        stored.kept![key] = refs.filter((ref) => ref !== kept);
      }
    }
  }

  /** Whether two commits hold the same tree on the same parents (false when one is gone). */
  async function sameState(ref: string, sha: string): Promise<boolean> {
    // One commit each: `git show` of two names for the same commit would show it once.
    const [a, b] = await Promise.all(
      [ref, sha].map((name) =>
        git(repoRoot, ['show', '-s', '--format=%T %P', name, '--'], {
          env,
          allowExitCodes: [128],
        }),
      ),
    );
    return a!.exitCode === 0 && a!.stdout === b!.stdout;
  }

  /** The change's sentence, with the refs what it took or brought is kept under. */
  function withKept(change: CheckoutChange): string {
    const refs = stored.kept?.[change.key] ?? [];
    return refs.length === 0 ? change.text : `${change.text}; kept at ${refs.join(', ')}`;
  }

  function takePending(taskId: string): string | null {
    const reasons = pending.get(taskId);
    pending.delete(taskId);
    return reasons === undefined ? null : `it changed your checkout: ${reasons.join('; ')}`;
  }

  function serial<T>(work: () => Promise<T>): Promise<T> {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  }

  return {
    startConfig: {
      file: stored.before.configFile,
      text: stored.before.configText,
      infoAttributes: stored.before.infoAttributes,
      infoExclude: stored.before.infoExclude,
    },
    observe(event) {
      if (event.type !== 'task-status') return;
      if (RUNS_PROCESSES.has(event.status)) busySinceLook = true;
      wakeGather?.();
      if (event.status === 'preparing') {
        active.add(event.taskId);
        unchecked.add(event.taskId);
        for (const set of windows) set.add(event.taskId);
      } else if (!isActive(event.status) && event.status !== 'pending') {
        active.delete(event.taskId);
        unchecked.delete(event.taskId);
      }
    },
    afterAgent: async (taskId) => {
      // Agents that end while a look is queued share the next one: one snapshot of a big
      // checkout, not one per agent in a row.
      if (waiting === null) {
        const ids: string[] = [];
        const done = serial(async () => {
          await gather();
          waiting = null;
          return look(ids);
        });
        waiting = { ids, done, last: Date.now() };
      }
      waiting.ids.push(taskId);
      waiting.last = Date.now();
      wakeGather?.();
      await waiting.done;
      return takePending(taskId);
    },
    review: (toolPaths = [], options = {}) =>
      serial(async () => {
        // The first review's look has just taken the snapshot it needs.
        let now: CheckoutSnapshot;
        if (reviewed === null) {
          const seen =
            options.nothingLeft === true &&
            !busySinceLook &&
            lastLookEnded > 0 &&
            Date.now() - lastLookEnded < REVIEW_REUSE_MS;
          if (!seen) await look([]);
          now = last;
        } else {
          now = await take();
        }
        const all = await compareCheckouts(repoRoot, stored.before, now, compareOptions());
        // A file the tool wrote after the first review is its own doing, unless it was already
        // changed then (by an agent).
        const changes = all.filter(
          (change) =>
            change.path === undefined ||
            !toolPaths.includes(change.path) ||
            (reviewed?.has(change.key) ?? true),
        );
        // What the tool wrote becomes part of the checkout as it started: a resume of this
        // execution compares with it, and does not name the tool's own write as a change.
        const written = all.filter((change) => !changes.includes(change)).map((c) => c.path!);
        if (written.length > 0) {
          stored.before = withToolWrites(stored.before, now, written);
          await store(file, stored);
        }
        reviewed ??= new Set(changes.map((change) => change.key));
        const late = (key: string) => !reviewed!.has(key);
        await keepWhatChanged(now);
        await store(file, stored);
        const sentences = changes.map((change) => {
          const who =
            stored.blame[change.key] ??
            (late(change.key) ? 'after the agents had finished' : 'who did it cannot be told');
          return `${withKept(change)} — ${who}`;
        });
        state.checkout_changes = sentences;
        return sentences;
      }),
  };
}

/** The tool's own refs: this execution's task, repair and integration branches, and its backup refs. */
function isToolRef(ref: string, state: ExecutionState): boolean {
  if (ref.startsWith('refs/parallel-executor/')) return true;
  const branch = ref.replace(/^refs\/heads\//, '');
  if (branch === ref) return false;
  if (state.integration?.branch === branch) return true;
  // An integration stopped half way (Ctrl-C, its setup failed) leaves its branch, unrecorded.
  if (state.integration_progress?.branch === branch) return true;
  if (recordedRepairs(state).some((repair) => repair.branch === branch)) return true;
  return Object.values(state.tasks).some((run) => run.branch === branch);
}

interface Culprit {
  taskId: string | null;
  /** Why this task, in words (for its failure reason). */
  why: string;
  /** A commit of the task proves it; otherwise it is only the likeliest (timing). */
  proven: boolean;
  /** The whole attribution, for the sentence in the output. */
  text: string;
}

async function blameChanges(
  state: ExecutionState,
  changes: readonly CheckoutChange[],
  suspects: ReadonlySet<string>,
  env: Record<string, string>,
): Promise<Map<string, Culprit>> {
  const owners = changes.some((change) => change.commits.length > 0)
    ? await commitsByTask(state, env)
    : new Map<string, Set<string>>();
  const culprits = new Map<string, Culprit>();
  for (const change of changes) {
    const byCommit = [...owners].filter(([, commits]) =>
      change.commits.some((sha) => commits.has(sha)),
    );
    if (byCommit.length === 1) {
      const [taskId, commits] = byCommit[0]!;
      const sha = change.commits.find((c) => commits.has(c))!.slice(0, 12);
      const why = `commit ${sha} on it was made by task ${taskId}`;
      culprits.set(change.key, { taskId, why, proven: true, text: `by task ${taskId} (${why})` });
    } else if (suspects.size === 1) {
      const taskId = [...suspects][0]!;
      const why = `task ${taskId} was the only task running when it happened`;
      culprits.set(change.key, {
        taskId,
        why,
        proven: false,
        text: `probably by task ${taskId} (${why})`,
      });
    } else if (suspects.size === 0) {
      culprits.set(change.key, {
        taskId: null,
        why: '',
        proven: false,
        text: 'while no agent was running',
      });
    } else {
      const list = [...suspects].sort().join(', ');
      culprits.set(change.key, {
        taskId: null,
        why: '',
        proven: false,
        text: `while tasks ${list} were running (which one cannot be told)`,
      });
    }
  }
  return culprits;
}

async function commitsByTask(
  state: ExecutionState,
  env: Record<string, string>,
): Promise<Map<string, Set<string>>> {
  const owners = new Map<string, Set<string>>();
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    if (run.start_sha === null) continue;
    owners.set(
      id,
      await taskCommits(
        state.repo_root,
        {
          worktree: run.worktree,
          branch: run.branch,
          startSha: run.start_sha,
          headSha: run.head_sha,
        },
        env,
      ),
    );
  }
  return owners;
}

/**
 * The repository's git config text when its latest execution other than `executionId` started
 * (that execution's stored snapshot), with its id; null when there is none to read. Execution
 * ids sort by their start time.
 */
export async function previousStartConfig(
  repoRoot: string,
  executionId: string,
): Promise<{ id: string; text: string } | null> {
  const names = await readdir(executionsDir(repoRoot)).catch(() => [] as string[]);
  const earlier = names.filter((name) => name !== executionId && name < executionId).sort();
  for (const id of earlier.reverse().slice(0, 3)) {
    const stored = await load(join(executionsDir(repoRoot), id, CHECKOUT_FILE));
    if (stored !== null) return { id, text: stored.before.configText };
  }
  return null;
}

async function load(file: string): Promise<Stored | null> {
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as Stored;
    return stored.before?.version === 1
      ? {
          before: stored.before,
          blame: stored.blame ?? {},
          toolRefs: stored.toolRefs ?? [],
          kept: stored.kept ?? {},
        }
      : null;
  } catch {
    return null;
  }
}

async function store(file: string, stored: Stored): Promise<void> {
  const temporary = `${file}.tmp`;
  await writeFile(temporary, `${JSON.stringify(stored, null, 2)}\n`);
  await rename(temporary, file);
}
