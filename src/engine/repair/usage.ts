import type { TaskRun } from '../state/schema.js';
import { addUsage, type UsageFigures } from '../state/usage.js';

/**
 * A repair agent's tokens and cost count in its task's usage, as a retried attempt's do: the
 * report's task row and totals, the PR's cost column, `--json`, the budget and the Action's
 * `usage` output all read them there. The repair's own line in the report shows its share.
 */
export function chargeRepair(run: TaskRun, figures: UsageFigures): void {
  const usage = addUsage(run.usage ?? null, figures);
  if (usage !== null) run.usage = usage;
}
