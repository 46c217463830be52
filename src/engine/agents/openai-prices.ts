/**
 * OpenAI's list prices for the models Codex runs, in US dollars per million tokens, as the
 * OpenAI API pricing page gave them in June 2026 (standard tier, prompts under the long-context
 * threshold). Codex reports no cost itself, so the adapter computes it from these. A model not
 * listed here gets no cost (null): a guessed price would be worse than none. Check
 * https://openai.com/api/pricing and update the table and the date together.
 */
export const OPENAI_PRICES_TAKEN = '2026-06';

export interface ModelPrice {
  input: number;
  cachedInput: number;
  output: number;
}

export const OPENAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5.5': { input: 5, cachedInput: 0.5, output: 30 },
  'gpt-5.4': { input: 2.5, cachedInput: 0.25, output: 15 },
  'gpt-5.4-mini': { input: 0.75, cachedInput: 0.075, output: 4.5 },
  'gpt-5.4-nano': { input: 0.2, cachedInput: 0.02, output: 1.25 },
  'gpt-5.1-codex': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-codex': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
};

/**
 * The cost of some usage: `inputTokens` is uncached input only (cached input is priced apart, at
 * its own rate). Null when the model's price is not known.
 */
export function openAiCostUsd(
  model: string | null,
  usage: { inputTokens: number; cacheReadTokens: number; outputTokens: number },
): number | null {
  if (model === null || !Object.hasOwn(OPENAI_PRICES, model)) return null;
  const price = OPENAI_PRICES[model]!;
  return (
    (usage.inputTokens * price.input +
      usage.cacheReadTokens * price.cachedInput +
      usage.outputTokens * price.output) /
    1_000_000
  );
}
