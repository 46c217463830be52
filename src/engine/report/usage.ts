import type { TaskRun } from '../state/schema.js';
import { formatCost, formatCount } from '../format.js';

/**
 * Tokens and cost as every output shows them (`--json`, report, dashboard, status, check runs,
 * Action outputs). Input is the uncached prompt; cache reads and writes are counted apart.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Null when the agent reported tokens but no cost. */
  costUsd: number | null;
}

/**
 * What the task's agent reported over all its attempts (failed ones too), the running one's
 * figures so far included; null when it reported neither tokens nor cost. States written before
 * `usage` existed have it in `metrics` only.
 */
export function taskUsage(task: TaskRun): Usage | null {
  const u = task.usage;
  if (u != null) {
    return {
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      cacheReadTokens: u.cache_read_tokens,
      cacheCreationTokens: u.cache_creation_tokens,
      costUsd: u.cost_usd,
    };
  }
  const m = task.metrics;
  if (m === null) return null;
  const tokens = [m.input_tokens, m.output_tokens, m.cache_read_tokens, m.cache_creation_tokens];
  if (tokens.every((value) => value == null) && m.cost_usd === null) return null;
  return {
    inputTokens: m.input_tokens ?? 0,
    outputTokens: m.output_tokens ?? 0,
    cacheReadTokens: m.cache_read_tokens ?? 0,
    cacheCreationTokens: m.cache_creation_tokens ?? 0,
    costUsd: m.cost_usd,
  };
}

/** Tokens of every kind summed (cache reads and writes included): what a token budget counts. */
export function usageTokens(usage: Usage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheCreationTokens;
}

/** The sum over the tasks that reported usage; null when none did. */
export function totalUsage(tasks: readonly TaskRun[]): Usage | null {
  const reported = reportedUsage(tasks);
  if (reported.length === 0) return null;
  const costs = reported.flatMap((usage) => (usage.costUsd === null ? [] : [usage.costUsd]));
  return {
    inputTokens: sum(reported.map((u) => u.inputTokens)),
    outputTokens: sum(reported.map((u) => u.outputTokens)),
    cacheReadTokens: sum(reported.map((u) => u.cacheReadTokens)),
    cacheCreationTokens: sum(reported.map((u) => u.cacheCreationTokens)),
    costUsd: costs.length === 0 ? null : sum(costs),
  };
}

/** How many of the tasks reported usage. */
export function usageReporters(tasks: readonly TaskRun[]): number {
  return reportedUsage(tasks).length;
}

function reportedUsage(tasks: readonly TaskRun[]): Usage[] {
  return tasks.flatMap((task) => {
    const usage = taskUsage(task);
    return usage === null ? [] : [usage];
  });
}

/** `12,000 in (+80,000 cache read, 3,000 cache write) / 1,500 out tokens · $0.42`. */
export function usageText(usage: Usage): string {
  const cache = [
    usage.cacheReadTokens > 0 ? `${formatCount(usage.cacheReadTokens)} cache read` : '',
    usage.cacheCreationTokens > 0 ? `${formatCount(usage.cacheCreationTokens)} cache write` : '',
  ].filter((part) => part !== '');
  const input = `${formatCount(usage.inputTokens)} in${cache.length > 0 ? ` (+${cache.join(', ')})` : ''}`;
  const cost = usage.costUsd === null ? '' : ` · ${formatCost(usage.costUsd)}`;
  return `${input} / ${formatCount(usage.outputTokens)} out tokens${cost}`;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
