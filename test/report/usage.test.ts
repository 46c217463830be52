import { describe, expect, it } from 'vitest';
import { taskUsage, totalUsage, usageText } from '../../src/engine/report/usage.js';
import { reportFixture } from './fixture.js';

describe('task usage', () => {
  it('counts a failed task’s attempts, which have no metrics, and prefers the sum over attempts', () => {
    const state = reportFixture();
    const [done, failed] = Object.values(state.tasks);
    failed!.metrics = null;
    failed!.usage = {
      input_tokens: 2000,
      output_tokens: 100,
      cache_read_tokens: 300,
      cache_creation_tokens: 40,
      cost_usd: 0.015,
    };
    // Collection wrote the last attempt's figures; `usage` holds every attempt's.
    done!.usage = {
      input_tokens: 182_340 + 1000,
      output_tokens: 21_877,
      cache_read_tokens: 0,
      cache_creation_tokens: 0,
      cost_usd: 0.8731 + 0.005,
    };
    expect(taskUsage(failed!)).toEqual({
      inputTokens: 2000,
      outputTokens: 100,
      cacheReadTokens: 300,
      cacheCreationTokens: 40,
      costUsd: 0.015,
    });
    expect(usageText(taskUsage(failed!)!)).toBe(
      '2,000 in (+300 cache read, 40 cache write) / 100 out tokens · $0.015',
    );
    const total = totalUsage([done!, failed!])!;
    expect(total.inputTokens).toBe(185_340);
    expect(total.costUsd).toBe(0.8731 + 0.005 + 0.015);
  });
});
