import type { ExecutionState, TaskRun } from '../state/schema.js';
import { integrationFate, needsAttention, taskOutcome } from '../report/outcome.js';
import { shortReason } from '../short-reason.js';

export interface CleanupOptions {
  /** Also remove what failed tasks left, unfinished tasks' worktrees, and unmerged branches. */
  force?: boolean;
  /** Keep the worktree and outputs of every task whose branch is not merged. */
  onlyMerged?: boolean;
  /**
   * The config's `workspace.pool`: finished worktrees are parked for the next run (up to this
   * many in the pool) rather than removed, and a pool holding more is cut to it. Absent: the
   * pool is neither filled nor cut.
   */
  pool?: number;
}

export type Decision = { remove: true; reason: string } | { remove: false; reason: string };

export interface TaskCleanupPlan {
  worktree: Decision;
  branch: Decision;
  /** The log and output folder (archived first when removed). */
  outputs: Decision;
}

const UNFINISHED = new Set([
  'pending',
  'preparing',
  'in_progress',
  'collecting',
  'validating',
  'not_started',
]);

/**
 * What to remove of one task and why, from its state and whether its branch is merged
 * (`mergedInto`: the ref it is an ancestor of, or null). Pure; git-level guards (a branch checked
 * out elsewhere, the main worktree) are applied when the plan is carried out.
 */
export function planTaskCleanup(
  task: TaskRun,
  state: ExecutionState,
  mergedInto: string | null,
  options: CleanupOptions = {},
): TaskCleanupPlan {
  const force = options.force ?? false;
  const keepAll = force ? null : reasonToKeep(task, state);
  if (keepAll !== null)
    return { worktree: keep(keepAll), branch: keep(keepAll), outputs: keep(keepAll) };

  const branch: Decision =
    mergedInto !== null
      ? { remove: true, reason: `merged into ${mergedInto}` }
      : force
        ? { remove: true, reason: 'not merged; deleted because of --force' }
        : keep(
            `not merged into ${mergeTargetsText(state)}; kept so its commits are not lost (--force deletes it)`,
          );
  if (options.onlyMerged && mergedInto === null && !force) {
    const reason = `branch not merged (only merged tasks are cleaned)`;
    return { worktree: keep(reason), branch, outputs: keep(reason) };
  }
  const why =
    force && needsAttention(task, state.integration)
      ? 'removed because of --force'
      : 'task finished';
  return {
    worktree: { remove: true, reason: why },
    branch,
    outputs: { remove: true, reason: `${why}; archived first` },
  };
}

/** Null when the task may be cleaned; otherwise what it is kept for and where to look. */
function reasonToKeep(task: TaskRun, state: ExecutionState): string | null {
  if (UNFINISHED.has(task.status)) {
    return `unfinished (${task.status}): \`parallel-executor resume ${state.execution_id}\` continues it`;
  }
  if (!needsAttention(task, state.integration)) return null;
  const fate = integrationFate(task.task_id, state.integration);
  if (fate.kind === 'conflict') {
    const other = fate.with.length > 0 ? ` with ${fate.with.join(', ')}` : '';
    return `merge conflict${other} in ${fate.files.join(', ') || 'unknown files'}: kept for a manual merge`;
  }
  if (fate.kind === 'dropped')
    return `dropped from integration (${fate.reason}): kept for investigation`;
  const outcome = taskOutcome(task, state.integration) === 'CANCELLED' ? 'cancelled' : 'failed';
  const reason = task.reason === null ? '' : ` (${shortReason(task.reason, REASON_MAX)})`;
  return `${outcome}${reason}: kept for investigation; log at ${task.log_file}`;
}

function mergeTargetsText(state: ExecutionState): string {
  return state.integration === null
    ? state.base_ref
    : `${state.integration.branch} or ${state.base_ref}`;
}

function keep(reason: string): Decision {
  return { remove: false, reason };
}

/** A kept item's reason in `clean`'s one line per item: its end, where the error is. */
const REASON_MAX = 160;

/**
 * What to remove of one repair attempt (its worktree and branch) and why: as for its task's own
 * (`planTaskCleanup`, with whether the repair branch is merged), so a task kept for a failure
 * keeps its repairs too. An attempt still under way when the orchestrator stopped (`inFlight`)
 * is resume's to continue: kept unless `force`. A repair for an integration `resume` set aside
 * (`setAside`, that integration's branch) is removed with its task's worktree.
 */
export function planRepairCleanup(
  task: TaskRun,
  state: ExecutionState,
  mergedInto: string | null,
  inFlight: boolean,
  setAside: string | null,
  options: CleanupOptions = {},
): Pick<TaskCleanupPlan, 'worktree' | 'branch'> {
  if (inFlight && !(options.force ?? false)) {
    const reason = `a repair under way when the orchestrator stopped: \`parallel-executor resume ${state.execution_id}\` continues it`;
    return { worktree: keep(reason), branch: keep(reason) };
  }
  const { worktree, branch } = planTaskCleanup(task, state, mergedInto, options);
  // A repair for an integration resume set aside is merged nowhere that still counts: once its
  // task is not kept for a look, it goes too, its commits kept under a ref first.
  if (setAside !== null && !branch.remove && worktree.remove)
    return {
      worktree,
      branch: {
        remove: true,
        reason: `a repair for ${setAside}, the integration resume set aside; not merged into ${mergeTargetsText(state)}`,
      },
    };
  return { worktree, branch };
}
