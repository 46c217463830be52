import { formatCost, formatCount, formatDuration } from '../format.js';
import type { ExecutionState } from '../state/schema.js';
import { mdCode, mdText } from './markdown.js';
import { taskUsage, usageTokens } from './usage.js';

/** `$0.42 / $1.00 · 1,200 / 5,000 tokens · 3min / 10min`: the limits set, and what is spent. */
export function budgetText(budget: NonNullable<ExecutionState['budget']>): string {
  const { limits, spent } = budget;
  const parts: string[] = [];
  if (limits.usd !== null) parts.push(`${formatCost(spent.usd)} / ${formatCost(limits.usd)}`);
  if (limits.tokens !== null) {
    parts.push(`${formatCount(spent.tokens)} / ${formatCount(limits.tokens)} tokens`);
  }
  if (limits.duration_ms !== null) {
    parts.push(`${formatDuration(spent.duration_ms)} / ${formatDuration(limits.duration_ms)}`);
  }
  return parts.join(' · ');
}

/**
 * "Budget": the limits and what was spent, and what the budget did: the limit it reached, the
 * tasks whose agents it stopped and those it did not start (resumable, not failed).
 */
export function renderBudgetSection(state: ExecutionState): string[] {
  const lines = budgetLines(state);
  return lines.length === 0 ? [] : ['## Budget', ...lines, ''];
}

/** The budget section's items (none without a budget), for the report and the PR body. */
export function budgetLines(state: ExecutionState): string[] {
  const budget = state.budget ?? null;
  if (budget === null) return [];
  const margin =
    budget.limits.margin_percent === null
      ? 'running agents finish'
      : `running agents stopped past ${budget.limits.margin_percent}% over`;
  const lines = [`- **Spent / budget**: ${budgetText(budget)} (${margin})`];
  lines.push(
    `- **Reached**: ${budget.reached === null ? 'no' : `${mdText(budget.reached, 120)}: no new task started after it`}`,
  );
  if (budget.stopped.length > 0) {
    lines.push(
      `- **Stopped by the budget**: ${budget.stopped.map((id) => taskText(state, id)).join(', ')}`,
    );
  }
  if (budget.not_started.length > 0) {
    lines.push(
      `- **Not started**: ${budget.not_started.map((id) => taskText(state, id)).join(', ')}`,
    );
  }
  if (budget.stopped.length + budget.not_started.length > 0) {
    lines.push(
      `- **To go on**: ${mdCode(`parallel-executor resume ${state.execution_id}`)} (a fresh budget, or ${mdCode('--budget-usd')}, ${mdCode('--budget-tokens')}, ${mdCode('--budget-duration')}); these tasks are not failed`,
    );
  }
  return lines;
}

function taskText(state: ExecutionState, id: string): string {
  return `${mdText(id, 40)}${taskSpentText(state, id)}`;
}

/** ` (1,234 tokens, $0.01)`: what a task's agent spent over all attempts; empty when it did not say. */
function taskSpentText(state: ExecutionState, id: string): string {
  const task = state.tasks[id];
  const usage = task === undefined ? null : taskUsage(task);
  if (usage === null) return '';
  const cost = usage.costUsd === null ? '' : `, ${formatCost(usage.costUsd)}`;
  return ` (${formatCount(usageTokens(usage))} tokens${cost})`;
}
