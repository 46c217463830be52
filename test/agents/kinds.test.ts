import { describe, expect, it } from 'vitest';
import { untrustedEnvironment, withApiKey } from '../../src/action/environment.js';
import { readSettings } from '../../src/action/settings.js';
import { agentSettings } from '../../src/cli/run-settings.js';
import { createAgentRunner } from '../../src/engine/agents/create-runner.js';
import { AGENT_KIND_NAMES, AGENT_KINDS } from '../../src/engine/agents/kinds.js';
import { Config } from '../../src/engine/config/schema.js';

// Agent kinds are one table (src/engine/agents/kinds.ts): the config, the CLI and the Action all
// accept exactly its names, and build the runner and pass the API key the way the kind says.

const actionAgentInput = (agent: string) =>
  readSettings(
    (name) =>
      ({
        mode: 'agent',
        agent,
        'execution-id': 'pe-1',
        task: '1.1',
        'github-token': 't',
        'agent-command': 'true',
      })[name] ?? '',
    { GITHUB_REPOSITORY: 'acme/widgets', GITHUB_WORKSPACE: '/work/ws', GITHUB_RUN_ID: '9' },
  );

describe('agent kinds', () => {
  it('has the kinds the README documents', () => {
    expect(AGENT_KIND_NAMES).toEqual(['claude-code', 'command']);
  });

  it.each(AGENT_KIND_NAMES)(
    '%s is accepted by the config, --agent and the action input',
    (kind) => {
      const config = Config.parse({ agent: { kind, command: 'true' } });
      expect(config.agent.kind).toBe(kind);
      const settings = agentSettings(config, { agent: kind }, 1000);
      expect(settings.kind).toBe(kind);
      expect(createAgentRunner(settings, { env: {}, cwd: '/' }).kind).toBe(kind);
      expect(actionAgentInput(kind)).toMatchObject({ mode: 'agent', agent: kind });
    },
  );

  it('rejects an unknown kind everywhere, listing the known ones', () => {
    const known = 'claude-code or command';
    expect(() => Config.parse({ agent: { kind: 'codex' } })).toThrow('claude-code');
    expect(() => agentSettings(Config.parse({}), { agent: 'codex' }, 1000)).toThrow(
      '--agent: "codex" is not an agent kind',
    );
    try {
      agentSettings(Config.parse({}), { agent: 'codex' }, 1000);
    } catch (error) {
      expect((error as { hint?: string }).hint).toContain(`Use ${known}`);
    }
    expect(() => actionAgentInput('codex')).toThrow(`input "agent" must be ${known}`);
  });

  it("gives the action's API key to the agent under its kind's variable, and to nothing else", () => {
    const env = untrustedEnvironment({ PATH: '/bin', ANTHROPIC_API_KEY: 'from-the-runner' });
    expect(env).toEqual({ PATH: '/bin' });
    for (const kind of Object.values(AGENT_KINDS)) {
      expect(kind.apiKeyEnv).toBe('ANTHROPIC_API_KEY');
      expect(withApiKey(env, kind, 'sk-1')).toEqual({ PATH: '/bin', ANTHROPIC_API_KEY: 'sk-1' });
      expect(withApiKey(env, kind, null)).toEqual({ PATH: '/bin' });
    }
    const keyless = { ...AGENT_KINDS.command, apiKeyEnv: null };
    expect(withApiKey(env, keyless, 'sk-1')).toEqual({ PATH: '/bin' });
  });
});
