import { describe, expect, it } from 'vitest';
import { settingsFromFlags } from '../../src/cli/run-settings.js';
import { parseConfig } from '../../src/engine/config/load.js';
import { settingsFromConfig } from '../../src/engine/run/config-settings.js';
import { formatCost } from '../../src/engine/format.js';

const configBudget = (yaml: string) =>
  settingsFromConfig(parseConfig(yaml, '.github/parallel-executor.yml')).budget;

describe('budget settings', () => {
  it('reads the config: every field optional, duration like 90m, margin a percentage', () => {
    expect(configBudget('retries: 0\n')).toBeNull();
    expect(configBudget('budget:\n  usd: 5\n  duration: 90m\n  margin: 10%\n')).toEqual({
      usd: 5,
      tokens: null,
      durationMs: 90 * 60_000,
      marginPercent: 10,
    });
    expect(configBudget('budget:\n  tokens: 200000\n')).toEqual({
      usd: null,
      tokens: 200_000,
      durationMs: null,
      marginPercent: null,
    });
  });

  it('refuses a bad value, naming the key', () => {
    // Refused where the file is read, at its line, as validate reads it too.
    expect(() => configBudget('budget:\n  duration: soon\n')).toThrow(
      /parallel-executor\.yml:2: "budget\.duration": "soon" is not a duration/,
    );
    expect(() => configBudget('budget:\n  usd: -1\n')).toThrow(/budget/);
    expect(() => configBudget('budget:\n  margin: lots\n')).toThrow(/budget/);
    expect(() => settingsFromFlags({ 'budget-tokens': 'many' })).toThrow(
      /--budget-tokens: "many" is not a positive number/,
    );
  });

  it('a flag replaces its own limit and keeps the others and the margin', () => {
    const base = { usd: 5, tokens: null, durationMs: 60_000, marginPercent: 20 };
    expect(settingsFromFlags({ 'budget-tokens': '1000' }, base).budget).toEqual({
      ...base,
      tokens: 1000,
    });
    expect(settingsFromFlags({ 'budget-usd': '$2.50' }, null).budget).toEqual({
      usd: 2.5,
      tokens: null,
      durationMs: null,
      marginPercent: null,
    });
    expect(settingsFromFlags({}, base).budget).toBeUndefined();
  });

  it('shows dollars to the tenth of a cent, so a budget of $0.015 does not read as $0.01', () => {
    expect([0.015, 0.02, 0.1 + 0.2, 1.5, 0.0153].map(formatCost)).toEqual([
      '$0.015',
      '$0.02',
      '$0.30',
      '$1.50',
      '$0.0153',
    ]);
  });
});
