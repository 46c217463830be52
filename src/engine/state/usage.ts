import type { TaskUsage } from './schema.js';

/** The tokens and cost one agent run reported (null or absent: it did not say). */
export interface UsageFigures {
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens?: number | null;
  cacheCreationTokens?: number | null;
  costUsd: number | null;
}

/**
 * A task's usage plus one run's figures. Nothing is rounded; a run that reported nothing adds
 * nothing.
 */
export function addUsage(before: TaskUsage | null, figures: UsageFigures): TaskUsage | null {
  const counts = [
    figures.inputTokens,
    figures.outputTokens,
    figures.cacheReadTokens,
    figures.cacheCreationTokens,
  ];
  if (counts.every((count) => count == null) && figures.costUsd === null) return before;
  const plus = (a: number | undefined, b: number | null | undefined) => (a ?? 0) + (b ?? 0);
  return {
    input_tokens: plus(before?.input_tokens, figures.inputTokens),
    output_tokens: plus(before?.output_tokens, figures.outputTokens),
    cache_read_tokens: plus(before?.cache_read_tokens, figures.cacheReadTokens),
    cache_creation_tokens: plus(before?.cache_creation_tokens, figures.cacheCreationTokens),
    cost_usd:
      figures.costUsd === null && (before?.cost_usd ?? null) === null
        ? null
        : plus(before?.cost_usd ?? undefined, figures.costUsd),
  };
}
