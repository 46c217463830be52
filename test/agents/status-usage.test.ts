import { describe, expect, it } from 'vitest';
import { parseAgentStatus, statusEvents } from '../../src/engine/agents/status-file.js';

describe('usage in the status file', () => {
  it('is read as the running totals of the attempt, and reported when it changes', () => {
    const first = parseAgentStatus(
      '{"progress_percent": 10, "usage": {"input_tokens": 500, "output_tokens": "100", "cache_read_tokens": 50}}',
    )!;
    expect(first.usage).toEqual({
      inputTokens: 500,
      outputTokens: 100,
      cacheReadTokens: 50,
      cacheCreationTokens: 0,
      costUsd: null,
    });
    expect(statusEvents(null, first)).toContainEqual({
      type: 'usage',
      inputTokens: 500,
      outputTokens: 100,
      cacheReadTokens: 50,
      cacheCreationTokens: 0,
      costUsd: null,
    });
    // The same figures again (a progress change): no second usage event.
    const same = parseAgentStatus(
      '{"progress_percent": 20, "usage": {"input_tokens": 500, "output_tokens": 100, "cache_read_tokens": 50}}',
    )!;
    expect(statusEvents(first, same).map((e) => e.type)).toEqual(['progress']);
    const more = parseAgentStatus(
      '{"usage": {"input_tokens": 900, "output_tokens": 120, "cost_usd": 0.02}}',
    )!;
    expect(statusEvents(same, more)).toContainEqual(
      expect.objectContaining({ type: 'usage', inputTokens: 900, costUsd: 0.02 }),
    );
  });

  it('ignores a usage that says nothing or is not an object', () => {
    expect(parseAgentStatus('{"usage": {"input_tokens": "lots"}}')!.usage).toBeNull();
    expect(parseAgentStatus('{"usage": [1, 2]}')!.usage).toBeNull();
    expect(parseAgentStatus('{"usage": {"cost_usd": -3}}')!.usage).toBeNull();
  });
});
