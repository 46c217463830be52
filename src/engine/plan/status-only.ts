import type { Plan } from './schema.js';

/**
 * True when two readings of a plan differ in statuses only: what a run writes back (`[x]`,
 * `✅ 4s`, `❌ failed (…)`, `✅ COMPLETED`, the report link) or a person ticking boxes. Such a push
 * brings no new work — the merge of an integration PR is one — so the shells start no run for it:
 * the tasks it made ready were already run by the next wave on the integration branch, or were
 * held back on purpose after a failure, for a person to look at first.
 */
export function onlyStatusesChanged(before: Plan, after: Plan): boolean {
  const tasks = (plan: Plan) =>
    plan.tasks.map(
      ({ line: _line, column: _column, statusLine: _statusLine, status: _status, ...rest }) => rest,
    );
  const groups = (plan: Plan) =>
    plan.groups.map(({ line: _line, status: _status, ...rest }) => rest);
  return (
    before.title === after.title &&
    JSON.stringify(tasks(before)) === JSON.stringify(tasks(after)) &&
    JSON.stringify(groups(before)) === JSON.stringify(groups(after))
  );
}
