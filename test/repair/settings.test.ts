import { describe, expect, it } from 'vitest';
import { repairSettings } from '../../src/cli/finish-settings.js';
import { parseConfig } from '../../src/engine/config/load.js';

const FILE = '.github/parallel-executor.yml';

describe('integration.repair', () => {
  it('defaults by agent kind: 1 attempt for claude-code, none for a command; config and flag win', () => {
    const none = parseConfig('plan: MULTI_AGENT_PLAN.md\n', FILE);
    const all = ['conflict', 'tests', 'validation'];
    expect(
      repairSettings(
        none,
        { strategy: 'batch-bisect', detectConflicts: true, writeBack: 'none' },
        'claude-code',
      ),
    ).toEqual({ attempts: 1, on: all });
    expect(
      repairSettings(
        none,
        { strategy: 'batch-bisect', detectConflicts: true, writeBack: 'none' },
        'command',
      ),
    ).toEqual({ attempts: 0, on: all });
    const configured = parseConfig(
      'integration:\n  repair:\n    attempts: 2\n    on: [conflict]\n',
      FILE,
    );
    const choices = {
      strategy: 'batch-bisect' as const,
      detectConflicts: true,
      writeBack: 'none' as const,
    };
    expect(repairSettings(configured, choices, 'command')).toEqual({
      attempts: 2,
      on: ['conflict'],
    });
    expect(repairSettings(configured, { ...choices, repairAttempts: 0 }, 'claude-code')).toEqual({
      attempts: 0,
      on: ['conflict'],
    });
  });

  it('refuses a negative count or an unknown kind, saying where', () => {
    expect(() => parseConfig('integration:\n  repair:\n    attempts: -1\n', FILE)).toThrow(
      /parallel-executor\.yml:3/,
    );
    expect(() => parseConfig('integration:\n  repair:\n    on: [conflicts]\n', FILE)).toThrow(
      /parallel-executor\.yml:3.*on/,
    );
  });
});
