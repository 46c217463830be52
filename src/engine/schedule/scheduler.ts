import { agentId, agentsOf } from '../plan/agent-names.js';
import type { TaskRunStatus } from '../state/schema.js';

/**
 * The dynamic scheduler: a task starts as soon as its dependencies are completed and every agent
 * it names is free — not when its whole group is done. Pure functions over the tasks' statuses,
 * so the orchestrator, resume and the simulations all share one rule.
 */

export interface SchedulerTask {
  id: string;
  status: TaskRunStatus;
  /** Dependencies outside the execution are complete (checked before it starts). */
  dependsOn: readonly string[];
  /** Agents as the plan names them; the pseudo-agent `All` means every agent of the execution. */
  agents: readonly string[];
}

export interface SchedulerOptions {
  /** Cap on tasks running at once; null = no cap beyond the agents themselves. */
  concurrency: number | null;
}

export const ACTIVE_STATUSES: readonly TaskRunStatus[] = [
  'preparing',
  'in_progress',
  'collecting',
  'validating',
];

export function isActive(status: TaskRunStatus): boolean {
  return ACTIVE_STATUSES.includes(status);
}

/**
 * The agents a task keeps busy while it runs: those it names, or all of them for `All`. An agent
 * is one worker, so a task with several agents occupies each. No agent means no constraint.
 */
export function occupiedAgents(
  agents: readonly string[],
  allAgents: readonly string[],
): Set<string> {
  const ids = agents.map(agentId);
  if (ids.includes('all')) return new Set(['all', ...allAgents.map(agentId)]);
  return new Set(ids);
}

/** Pending tasks that may start now, in plan order, respecting agents and the concurrency cap. */
export function readyTasks(tasks: readonly SchedulerTask[], options: SchedulerOptions): string[] {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const allAgents = agentsOf(tasks);
  const busy = new Set<string>();
  let running = 0;
  for (const task of tasks) {
    if (!isActive(task.status)) continue;
    running += 1;
    // A task being validated counts against the cap, but its agent has finished: free it.
    if (task.status === 'validating') continue;
    for (const agent of occupiedAgents(task.agents, allAgents)) busy.add(agent);
  }
  const ready: string[] = [];
  for (const task of tasks) {
    if (options.concurrency !== null && running >= options.concurrency) break;
    if (task.status !== 'pending') continue;
    const depsDone = task.dependsOn.every((dep) => {
      const other = byId.get(dep);
      return other === undefined || other.status === 'completed';
    });
    if (!depsDone) continue;
    const needs = occupiedAgents(task.agents, allAgents);
    if ([...needs].some((agent) => busy.has(agent))) continue;
    for (const agent of needs) busy.add(agent);
    running += 1;
    ready.push(task.id);
  }
  return ready;
}

/**
 * Pending tasks that can never run because a dependency failed or was skipped, with the reason;
 * transitive, so a whole chain is skipped at once while independent tasks go on.
 */
export function blockedTasks(
  tasks: readonly SchedulerTask[],
): Array<{ id: string; reason: string }> {
  const status = new Map(tasks.map((task) => [task.id, task.status]));
  const blocked: Array<{ id: string; reason: string }> = [];
  let changed = true;
  while (changed) {
    changed = false;
    for (const task of tasks) {
      if (status.get(task.id) !== 'pending') continue;
      const dead = task.dependsOn.find((dep) => {
        const depStatus = status.get(dep);
        return depStatus === 'failed' || depStatus === 'skipped';
      });
      if (dead === undefined) continue;
      const verb = status.get(dead) === 'failed' ? 'failed' : 'was skipped';
      blocked.push({ id: task.id, reason: `dependency ${dead} ${verb}` });
      status.set(task.id, 'skipped');
      changed = true;
    }
  }
  return blocked;
}
