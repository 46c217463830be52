/** Which of the plan's tasks an execution runs: a group's (or every) task not already done. */
import type { Plan, Task } from '../../engine/plan/schema.js';

const DONE = new Set<Task['status']>(['completed', 'skipped']);

export type Selection = { ok: true; group: string; tasks: Task[] } | { ok: false; reason: string };

export function selectTasks(
  plan: Plan,
  group: string,
  onlyIds: readonly string[] | null = null,
): Selection {
  let candidates = plan.tasks;
  let groupId = 'all';
  if (group.toLowerCase() !== 'all') {
    const found = plan.groups.find((g) => g.id.toLowerCase() === group.toLowerCase());
    if (!found) {
      const known = plan.groups.map((g) => `\`${g.id}\``).join(', ') || 'none';
      return { ok: false, reason: `the plan has no group \`${group}\` (groups: ${known})` };
    }
    groupId = found.id;
    candidates = candidates.filter((t) => t.group === found.id);
  }
  if (onlyIds !== null) {
    const missing = onlyIds.filter((id) => !plan.tasks.some((t) => t.id === id));
    if (missing.length > 0) {
      return {
        ok: false,
        reason: `the plan has no task ${missing.map((id) => `\`${id}\``).join(', ')}`,
      };
    }
    // A retry runs the named tasks again even when the plan already marks them done.
    const tasks = plan.tasks.filter((t) => onlyIds.includes(t.id));
    const groups = new Set(tasks.map((t) => t.group));
    const [only] = groups;
    return { ok: true, group: groups.size === 1 && only ? only : groupId, tasks };
  }
  const tasks = candidates.filter((t) => !DONE.has(t.status));
  if (tasks.length === 0) {
    return {
      ok: false,
      reason:
        groupId === 'all'
          ? 'every task of the plan is already completed or skipped'
          : `every task of group \`${groupId}\` is already completed or skipped`,
    };
  }
  return { ok: true, group: groupId, tasks };
}

/**
 * The group a push on an auto-run branch starts: the first, in plan order, that still has work and
 * whose prerequisite groups are done. Null when nothing is ready.
 */
export function nextPendingGroup(plan: Plan): string | null {
  if (plan.groups.length === 0) {
    return plan.tasks.some((t) => !DONE.has(t.status)) ? 'all' : null;
  }
  const groupDone = (id: string) =>
    plan.tasks.filter((t) => t.group === id).every((t) => DONE.has(t.status));
  for (const group of plan.groups) {
    if (groupDone(group.id)) continue;
    if (group.dependsOn.every(groupDone)) return group.id;
    return null;
  }
  return null;
}
