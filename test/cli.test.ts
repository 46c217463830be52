import { describe, expect, it } from 'vitest';
import { cli } from './cli-run/helpers.js';

describe('cli', () => {
  it('rejects an unknown command with exit 2 and the usage', async () => {
    const t = await cli(['frobnicate'], process.cwd());
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('unknown command "frobnicate"');
    expect(t.stderr).toContain('Usage: parallel-executor');
  });
});
