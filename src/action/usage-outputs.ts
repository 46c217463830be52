import type { ExecutionState } from '../engine/state/schema.js';
import { orderedTasks } from '../engine/report/outcome.js';
import { totalUsage } from '../engine/report/usage.js';
import type { ActionRuntime } from './runtime.js';

/**
 * `usage` (the `--json` document's top-level usage: `{inputTokens, outputTokens, cacheReadTokens,
 * cacheCreationTokens, costUsd}`, or `null` when no agent reported any) and `cost-usd` (a number,
 * empty when unknown), so a workflow can gate or chart a run's cost.
 */
export function setUsageOutputs(
  runtime: Pick<ActionRuntime, 'setOutput'>,
  state: ExecutionState,
): void {
  const usage = totalUsage(orderedTasks(state));
  runtime.setOutput('usage', JSON.stringify(usage));
  runtime.setOutput('cost-usd', usage?.costUsd == null ? '' : String(usage.costUsd));
}
