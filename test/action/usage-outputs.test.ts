import { describe, expect, it } from 'vitest';
import { setUsageOutputs } from '../../src/action/usage-outputs.js';
import { reportFixture } from '../report/fixture.js';
import { recordingRuntime } from './recording-runtime.js';

describe('the usage and cost-usd outputs', () => {
  it('sum the tasks that reported usage, cached tokens apart', () => {
    const state = reportFixture();
    state.tasks['2.1']!.metrics!.cache_read_tokens = 1_000;
    state.tasks['2.1']!.metrics!.cache_creation_tokens = 200;
    const runtime = recordingRuntime({});
    setUsageOutputs(runtime, state);
    expect(JSON.parse(runtime.outputs['usage']!)).toEqual({
      inputTokens: 182_340 + 240_112 + 99_871,
      outputTokens: 21_877 + 30_540 + 12_004,
      cacheReadTokens: 1_000,
      cacheCreationTokens: 200,
      costUsd: expect.closeTo(0.8731 + 1.1207 + 0.4412, 6),
    });
    expect(Number(runtime.outputs['cost-usd'])).toBeCloseTo(2.435, 6);
  });

  it('say null and empty when no agent reported any', () => {
    const state = reportFixture();
    for (const task of Object.values(state.tasks)) task.metrics = null;
    const runtime = recordingRuntime({});
    setUsageOutputs(runtime, state);
    expect(runtime.outputs).toEqual({ usage: 'null', 'cost-usd': '' });
  });
});
