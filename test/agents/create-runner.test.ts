import { describe, expect, it } from 'vitest';
import { createAgentRunner } from '../../src/engine/agents/create-runner.js';
import { UsageError } from '../../src/engine/errors.js';

describe('createAgentRunner', () => {
  it('builds the adapter the settings name', () => {
    const context = { env: {}, cwd: '/' };
    expect(createAgentRunner({ kind: 'claude-code', allowedTools: ['Read'] }, context).kind).toBe(
      'claude-code',
    );
    expect(
      createAgentRunner({ kind: 'command', command: 'make agent', allowedTools: [] }, context).kind,
    ).toBe('command');
  });

  it('refuses the command adapter without a command, saying how to give one', () => {
    const build = () =>
      createAgentRunner({ kind: 'command', allowedTools: [] }, { env: {}, cwd: '/' });
    expect(build).toThrow(UsageError);
    expect(build).toThrow(/needs a command/);
  });
});
