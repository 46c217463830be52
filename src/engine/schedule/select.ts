/**
 * Which of the plan's tasks an execution runs — the one rule behind `parallel-executor run`, the
 * workflow's plan and publish jobs, and the GitHub App (`/parallel-run`, `/parallel-retry`, the
 * "Retry failed" button, auto-runs on push, each next wave). The shells differ only in the
 * explicit `SelectionOptions`; what is selected for a plan is the same everywhere.
 */
import { UsageError } from '../errors.js';
import type { Plan, Task } from '../plan/schema.js';
import { agentsOf } from '../plan/agent-names.js';
import { occupiedAgents, readyTasks, type SchedulerTask } from './scheduler.js';

export interface SelectionRequest {
  /** `all` (also null or empty), or a group id in any case: `g1` selects the group `G1`. */
  group: string | null;
  /** Named tasks (a retry, or one wave the app picked): exactly these; `group` is then ignored. */
  tasks?: readonly string[] | null;
}

export interface SelectionOptions {
  /**
   * Whether `ready` holds at most one task per agent (`All` = every agent). Locally yes: an
   * agent is one worker on one machine, and its tasks share its port range. In a wave no: each
   * matrix leg is its own runner with its own checkout and ports, so the plan's agent is only a
   * label there, and holding a task back would cost a whole workflow run (checkout, setup,
   * integration) for no gain — every task branches from the same commit either way.
   */
  oneTaskPerAgent: boolean;
}

/** The local execution: one worker per agent (the engine's scheduler keeps it so as tasks end). */
export const LOCAL_SELECTION: SelectionOptions = { oneTaskPerAgent: true };
/** A workflow run's wave (the Action's plan and publish jobs, and the app, which picks them). */
export const WAVE_SELECTION: SelectionOptions = { oneTaskPerAgent: false };

export interface Selection {
  /** `all`, or the group id as the plan writes it (the named tasks' group when they share one). */
  group: string;
  /** Tasks the execution runs, in plan order: `ready` first in time, then `waiting`. */
  tasks: Task[];
  /** Of `tasks`, those that may start now (a wave's matrix; the first tasks a local run starts). */
  ready: Task[];
  /** Of `tasks`, the others, with the selected tasks they wait for. */
  waiting: Array<{ task: Task; on: string[] }>;
  /** Tasks in scope that do not run, with why (and the tasks they wait for, if that is why). */
  left: Array<{ task: Task; reason: string; waitsFor?: string[] }>;
  /** Every task the plan marks completed: never run again, and they count as met dependencies. */
  alreadyCompleted: Task[];
}

/**
 * The tasks to run, for a group (or the whole plan) or for named tasks:
 *
 * - `completed` tasks never run again, even when named: set the status back in the plan to redo one.
 *   A dependency is met only by a completed task.
 * - `pending` tasks of the scope run.
 * - `failed`, `in_progress`, `blocked`, `review` and `skipped` tasks run only when named (a
 *   retry): nobody wants an automatic run to spend an agent on failed work again, or on a task
 *   a person is doing, waits on, reviews or set aside.
 * - Named tasks bring along the `skipped` tasks that depend on them, directly or through other
 *   skipped tasks: what a failure skipped runs again once what it waited for is retried.
 * - A task that depends on one that is neither completed nor selected does not run (it would
 *   build on work that is not there); `left` says which one, and so does the task it held back.
 * - Group ids compare case-insensitively; an unknown group or task is a `UsageError` that lists
 *   the plan's groups or tasks.
 *
 * An empty `tasks` is not an error: `nothingToRun` says why, and each shell decides.
 */
export function selectTasks(
  plan: Plan,
  request: SelectionRequest,
  options: SelectionOptions,
): Selection {
  const named = request.tasks ?? null;
  const scope = named === null ? groupScope(plan, request.group) : namedScope(plan, named);
  const completed = new Set(plan.tasks.filter(isCompleted).map((t) => t.id));
  const left = new Map<string, Left>();
  const chosen = new Set<string>();
  for (const task of scope.tasks) {
    const why = statusReason(task, scope.named);
    if (why === null) chosen.add(task.id);
    else left.set(task.id, { reason: why });
  }
  const deps = effectiveDependencies(plan);
  dropUnreachable(plan, chosen, completed, deps, left);

  const tasks = plan.tasks.filter((t) => chosen.has(t.id));
  const scheduled: SchedulerTask[] = tasks.map((t) => ({
    id: t.id,
    status: 'pending',
    dependsOn: deps.get(t.id)!.filter((dep) => !completed.has(dep)),
    agents: options.oneTaskPerAgent ? t.agents : [],
  }));
  const readyIds = new Set(readyTasks(scheduled, { concurrency: null }));
  const ready = tasks.filter((t) => readyIds.has(t.id));
  const allAgents = agentsOf(scheduled);
  const busy = (agents: readonly string[]) => occupiedAgents(agents, allAgents);
  const waiting = scheduled
    .filter((t) => !readyIds.has(t.id))
    .map((t) => {
      const on = t.dependsOn.filter((dep) => chosen.has(dep));
      // Held back only for its agent: it waits for the ready task that holds the agent.
      const holders = scheduled
        .filter((r) => readyIds.has(r.id) && [...busy(t.agents)].some((a) => busy(r.agents).has(a)))
        .map((r) => r.id);
      return { task: tasks.find((x) => x.id === t.id)!, on: on.length > 0 ? on : holders };
    });
  return {
    group: scope.group,
    tasks,
    ready,
    waiting,
    left: plan.tasks.filter((t) => left.has(t.id)).map((task) => ({ task, ...left.get(task.id)! })),
    alreadyCompleted: plan.tasks.filter(isCompleted),
  };
}

/** Why a selection runs nothing, in one sentence (for a comment, an error or a summary). */
export function nothingToRun(selection: Selection): string {
  const what = selection.group === 'all' ? 'the plan' : `group ${selection.group}`;
  if (selection.left.length === 0) return `${what} has no task to run`;
  // Not named, only completed: one plain sentence instead of a list of "is completed".
  if (selection.left.every((l) => l.reason === 'is completed')) {
    return `${what} has no task to run: every task of it is already completed`;
  }
  const reasons = selection.left.map((l) => `${l.task.id} ${l.reason}`);
  return `nothing of ${what} can run: ${reasons.join('; ')}`;
}

/**
 * What to do when a selection runs nothing because every task in it is completed, or null when
 * something else holds it back (a task it waits for, a failed or held task): "run what they wait
 * for first, or retry a failed task" said to a user whose plan is done sent them looking for
 * tasks that do not exist, and a retry of a completed task runs nothing either.
 */
export function nothingLeftHint(selection: Selection): string | null {
  if (selection.tasks.length > 0 || selection.left.length === 0) return null;
  if (!selection.left.every((l) => isCompleted(l.task))) return null;
  return 'To run a completed task again, set its status back to pending in the plan (an unticked "- [ ]", no ✅, under a group heading without ✅ COMPLETED, which makes every open task under it completed); or add new tasks to it.';
}

/**
 * The group an automatic run (a push on an auto-run branch) starts: the first, in plan order,
 * with a task to run — or null when that group has nothing that can run yet (it waits for work
 * outside it) or no group has work. Never skips ahead of a group that still has work.
 */
export function nextGroup(plan: Plan): string | null {
  if (plan.groups.length === 0) {
    return selectTasks(plan, { group: 'all' }, WAVE_SELECTION).tasks.length > 0 ? 'all' : null;
  }
  for (const group of plan.groups) {
    const selection = selectTasks(plan, { group: group.id }, WAVE_SELECTION);
    if (selection.tasks.length > 0) return group.id;
    if (selection.left.some((l) => l.task.status === 'pending')) return null;
  }
  return null;
}

/** Why a task in scope does not run. */
interface Left {
  reason: string;
  waitsFor?: string[];
}

interface Scope {
  group: string;
  tasks: Task[];
  named: boolean;
}

function groupScope(plan: Plan, group: string | null): Scope {
  if (group === null || group.trim() === '' || group.trim().toLowerCase() === 'all') {
    return { group: 'all', tasks: plan.tasks, named: false };
  }
  const wanted = findGroup(plan, group);
  return { group: wanted, tasks: plan.tasks.filter((t) => t.group === wanted), named: false };
}

/** The group's id as the plan writes it. */
export function findGroup(plan: Plan, group: string): string {
  const key = group.trim().toLowerCase();
  const ids = [
    ...plan.groups.map((g) => g.id),
    ...plan.tasks.map((t) => t.group).filter((g): g is string => g !== null),
  ];
  const found = ids.find((id) => id.toLowerCase() === key);
  if (found !== undefined) return found;
  const known = [...new Set(ids)];
  throw new UsageError(
    `the plan has no group "${group}"`,
    known.length > 0
      ? `Groups in this plan: ${known.join(', ')}. Pass one of them, or all.`
      : 'The plan has no groups: select all (leave the group empty).',
  );
}

function namedScope(plan: Plan, ids: readonly string[]): Scope {
  const known = new Set(plan.tasks.map((t) => t.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `the plan has no task ${unknown.join(', ')}`,
      `Tasks in this plan: ${[...known].slice(0, 30).join(', ')}${known.size > 30 ? ', …' : ''}.`,
    );
  }
  const wanted = new Set(ids);
  // What a failure skipped comes back with the task it waited for (transitively).
  for (let grew = true; grew;) {
    grew = false;
    for (const task of plan.tasks) {
      if (wanted.has(task.id) || task.status !== 'skipped') continue;
      if (!task.dependsOn.some((dep) => wanted.has(dep))) continue;
      wanted.add(task.id);
      grew = true;
    }
  }
  const tasks = plan.tasks.filter((t) => wanted.has(t.id));
  const groups = new Set(tasks.filter((t) => ids.includes(t.id)).map((t) => t.group));
  const [only] = groups;
  return { group: groups.size === 1 && only ? only : 'all', tasks, named: true };
}

function statusReason(task: Task, named: boolean): string | null {
  if (isCompleted(task)) {
    return named
      ? 'is completed in the plan (set its status back to pending there to run it again, and take ✅ COMPLETED off its group heading if there)'
      : 'is completed';
  }
  if (named || task.status === 'pending') return null;
  if (task.status === 'failed') return 'failed (retry it by name to run it again)';
  return `is ${task.status.replace('_', ' ')} in the plan (name it to run it anyway)`;
}

/** Tasks whose dependency is neither completed nor selected do not run, transitively. */
function dropUnreachable(
  plan: Plan,
  chosen: Set<string>,
  completed: ReadonlySet<string>,
  deps: ReadonlyMap<string, string[]>,
  left: Map<string, Left>,
): void {
  const status = new Map(plan.tasks.map((t) => [t.id, t.status]));
  for (let changed = true; changed;) {
    changed = false;
    for (const task of plan.tasks) {
      if (!chosen.has(task.id)) continue;
      const missing = deps.get(task.id)!.filter((dep) => !completed.has(dep) && !chosen.has(dep));
      if (missing.length === 0) continue;
      const described = missing.map(
        (dep) => `${dep} (${(status.get(dep) ?? 'unknown').replace('_', ' ')})`,
      );
      left.set(task.id, {
        reason: `waits for ${described.join(', ')}, not completed and not in this run`,
        waitsFor: missing,
      });
      chosen.delete(task.id);
      changed = true;
    }
  }
}

/** A task's dependencies, with the tasks of the groups its group depends on. */
function effectiveDependencies(plan: Plan): Map<string, string[]> {
  const groupDeps = new Map(plan.groups.map((g) => [g.id, g.dependsOn]));
  return new Map(
    plan.tasks.map((task) => {
      const viaGroup = (task.group === null ? [] : (groupDeps.get(task.group) ?? [])).flatMap(
        (group) => plan.tasks.filter((t) => t.group === group).map((t) => t.id),
      );
      return [task.id, [...new Set([...task.dependsOn, ...viaGroup])].filter((d) => d !== task.id)];
    }),
  );
}

function isCompleted(task: Task): boolean {
  return task.status === 'completed';
}
