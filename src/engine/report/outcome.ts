import type { IntegrationResult } from '../integrate/schema.js';
import type { ExecutionState, TaskRun } from '../state/schema.js';
import { activeMs } from '../format.js';
import { PERMISSION_DENIED } from '../ports/agent-runner.js';

/** How a task ended, in the seed's vocabulary (plus the states a live view also needs). */
export type TaskOutcome =
  | 'COMPLETE'
  | 'COMPLETE_WITH_WARNINGS'
  | 'NO_CHANGES'
  | 'DROPPED'
  | 'FAILED'
  | 'SKIPPED'
  | 'CANCELLED'
  | 'NOT_STARTED'
  | 'RUNNING'
  | 'PENDING';

export const TASK_OUTCOME_LABEL: Record<TaskOutcome, string> = {
  COMPLETE: '✅ COMPLETE',
  COMPLETE_WITH_WARNINGS: '⚠️ COMPLETE WITH WARNINGS',
  NO_CHANGES: '⚠️ NO CHANGES',
  DROPPED: '🚫 NOT MERGED',
  FAILED: '❌ FAILED',
  SKIPPED: '⏭️ SKIPPED',
  CANCELLED: '⏹️ CANCELLED',
  NOT_STARTED: '⏸️ NOT STARTED',
  RUNNING: '🔄 IN PROGRESS',
  PENDING: '⏳ PENDING',
};

/**
 * How a task ended, once integration is taken into account: a task the agent finished well but
 * integration left out (merge conflict, dropped by bisect) is DROPPED, never COMPLETE —
 * "complete" means its work landed. Every output (terminal, JSON, report, gantt, check runs)
 * reads the task's state through this one function.
 */
export function taskOutcome(task: TaskRun, integration: IntegrationResult | null): TaskOutcome {
  const outcome = agentOutcome(task);
  if (!finishedWell(outcome)) return outcome;
  const fate = integrationFate(task.task_id, integration).kind;
  return fate === 'conflict' || fate === 'dropped' ? 'DROPPED' : outcome;
}

/** How the agent's part ended, before integration: what its dependents could build on. */
export function agentOutcome(task: TaskRun): TaskOutcome {
  switch (task.status) {
    case 'completed':
      if (task.validation?.status === 'FAILED') return 'FAILED';
      if (changedNothing(task)) return 'NO_CHANGES';
      if (task.validation?.status === 'COMPLETE_WITH_WARNINGS') return 'COMPLETE_WITH_WARNINGS';
      // Its agent was refused tool calls (a Bash it needed): it may have skipped part of the task.
      if (deniedCalls(task).length > 0) return 'COMPLETE_WITH_WARNINGS';
      return 'COMPLETE';
    case 'failed':
      return 'FAILED';
    case 'skipped':
      return 'SKIPPED';
    case 'cancelled':
      return 'CANCELLED';
    case 'pending':
      return 'PENDING';
    case 'not_started':
      return 'NOT_STARTED';
    default:
      return 'RUNNING';
  }
}

/**
 * The agent finished but its branch holds nothing beyond its start commit: a warning, not a
 * completion (merging it lands nothing, and the plan must not tick it).
 */
export function changedNothing(task: TaskRun): boolean {
  return task.status === 'completed' && task.metrics !== null && task.metrics.files_modified === 0;
}

/** The tool calls the task's agent was refused (`Bash: npm test`), from its diagnostics. */
export function deniedCalls(task: TaskRun): string[] {
  const prefix = `${PERMISSION_DENIED}: `;
  return (task.diagnostics ?? [])
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

/**
 * What the user should know about a task that did not fail it, as every output says it: the
 * recorded warnings, plus one for refused tool calls.
 */
export function taskWarnings(task: TaskRun): string[] {
  const denied = deniedCalls(task);
  if (denied.length === 0) return task.warnings ?? [];
  const calls = `${denied.length} tool call${denied.length === 1 ? ' was' : 's were'} denied`;
  return [
    ...(task.warnings ?? []),
    `${calls} (${denied.join('; ')}): the work may be incomplete; allow the tool in agent.allowedTools`,
  ];
}

/** What integration did with a task's branch. */
export type IntegrationFate =
  | { kind: 'merged' }
  | { kind: 'conflict'; files: string[]; with: string[] }
  | { kind: 'dropped'; reason: string }
  | { kind: 'not-integrated' };

export function integrationFate(
  taskId: string,
  integration: IntegrationResult | null,
): IntegrationFate {
  if (integration === null) return { kind: 'not-integrated' };
  // A conflicting task is also listed as dropped; the conflict is the more useful word.
  const conflict = integration.conflicts.find((entry) => entry.taskId === taskId);
  if (conflict !== undefined)
    return { kind: 'conflict', files: conflict.files, with: conflict.with };
  const dropped = integration.dropped.find((entry) => entry.taskId === taskId);
  if (dropped !== undefined) return { kind: 'dropped', reason: dropped.reason };
  if (integration.merged.includes(taskId)) return { kind: 'merged' };
  return { kind: 'not-integrated' };
}

/** A task that ended in a way someone has to look at: it failed, or its work did not land. */
export function needsAttention(task: TaskRun, integration: IntegrationResult | null): boolean {
  const outcome = taskOutcome(task, integration);
  return outcome === 'FAILED' || outcome === 'CANCELLED' || outcome === 'DROPPED';
}

export type ExecutionOutcome = 'SUCCESS' | 'PARTIAL' | 'FAILED' | 'IN PROGRESS';

export const EXECUTION_OUTCOME_LABEL: Record<ExecutionOutcome, string> = {
  SUCCESS: '✅ SUCCESS',
  PARTIAL: '⚠️ PARTIAL',
  FAILED: '❌ FAILED',
  'IN PROGRESS': '🔄 IN PROGRESS',
};

/**
 * SUCCESS: every task this execution was responsible for landed (merged into the integration
 * branch, or completed when no integration ran) and the integrated tests did not fail.
 * FAILED: none landed. PARTIAL: in between.
 * A task skipped while none of its dependencies went wrong (already done in the plan) is not
 * counted either way; a task skipped because a dependency failed counts as not landed.
 */
export function executionOutcome(state: ExecutionState): ExecutionOutcome {
  if (state.status === 'pending' || state.status === 'in_progress') return 'IN PROGRESS';
  const counted = orderedTasks(state).filter((task) => !isNeutralSkip(task, state));
  const landed = counted.filter((task) => hasLanded(task, state.integration));
  const testsFailed = state.integration?.testsPassed === false;
  if (counted.length > 0 && landed.length === 0) return 'FAILED';
  if (landed.length === counted.length && !testsFailed && state.status !== 'cancelled') {
    return 'SUCCESS';
  }
  return 'PARTIAL';
}

export function hasLanded(task: TaskRun, integration: IntegrationResult | null): boolean {
  if (integration !== null) return integration.merged.includes(task.task_id);
  return finishedWell(agentOutcome(task));
}

/** The agent did its part: its dependents could run on it. */
function finishedWell(outcome: TaskOutcome): boolean {
  return outcome === 'COMPLETE' || outcome === 'COMPLETE_WITH_WARNINGS' || outcome === 'NO_CHANGES';
}

/** Skipped with no dependency that went wrong: nothing was lost by not running it. */
export function isNeutralSkip(task: TaskRun, state: ExecutionState): boolean {
  if (task.status !== 'skipped') return false;
  return task.depends_on.every((id) => {
    const dependency = state.tasks[id];
    if (dependency === undefined) return true; // not part of this execution: done before it
    if (dependency.status === 'skipped') return isNeutralSkip(dependency, state);
    return finishedWell(agentOutcome(dependency));
  });
}

/** Tasks in plan order; records the order forgot (hand-edited state) come last, by id. */
export function orderedTasks(state: ExecutionState): TaskRun[] {
  const seen = new Set<string>();
  const tasks: TaskRun[] = [];
  for (const id of state.task_order) {
    const task = state.tasks[id];
    if (task === undefined || seen.has(id)) continue;
    seen.add(id);
    tasks.push(task);
  }
  const rest = Object.keys(state.tasks)
    .filter((id) => !seen.has(id))
    .sort();
  for (const id of rest) {
    const task = state.tasks[id];
    if (task !== undefined) tasks.push(task);
  }
  return tasks;
}

/** `Group 2`, `My Plan — Group 2`, `My Plan — all groups`: what the execution ran. */
export function executionTitle(state: ExecutionState): string {
  const scope = state.parallel_group === 'all' ? 'all groups' : `Group ${state.parallel_group}`;
  return state.plan_title === null ? scope : `${state.plan_title} — ${scope}`;
}

/**
 * How long a task took: from its start to its end (agent, collection and validation), the span
 * its timeline bar covers. The one definition every output uses, so a task's duration, its bar
 * and the parallel speed-up agree. `now` stands in for the end of a running task.
 */
export function taskDurationMs(task: TaskRun, now?: Date): number | null {
  return activeMs(task.started_at, task.finished_at ?? now ?? null, task.stopped_ms);
}
