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
    expect(AGENT_KIND_NAMES).toEqual(['claude-code', 'codex', 'command']);
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
    const known = 'claude-code, codex or command';
    expect(() => Config.parse({ agent: { kind: 'aider' } })).toThrow('claude-code');
    expect(() => agentSettings(Config.parse({}), { agent: 'aider' }, 1000)).toThrow(
      '--agent: "aider" is not an agent kind',
    );
    try {
      agentSettings(Config.parse({}), { agent: 'aider' }, 1000);
    } catch (error) {
      expect((error as { hint?: string }).hint).toContain(`Use ${known}`);
    }
    expect(() => actionAgentInput('aider')).toThrow(`input "agent" must be ${known}`);
  });

  it("gives the action's API key to the agent under its kind's variable, and to nothing else", () => {
    const env = untrustedEnvironment({
      PATH: '/bin',
      ANTHROPIC_API_KEY: 'from-the-runner',
      OPENAI_API_KEY: 'from-the-runner',
      CODEX_API_KEY: 'from-the-runner',
    });
    expect(env).toEqual({ PATH: '/bin' });
    const expected = {
      'claude-code': ['ANTHROPIC_API_KEY', 'anthropic-api-key'],
      codex: ['OPENAI_API_KEY', 'openai-api-key'],
      command: ['ANTHROPIC_API_KEY', 'anthropic-api-key'],
    };
    for (const name of AGENT_KIND_NAMES) {
      const kind = AGENT_KINDS[name];
      const [variable, input] = expected[name];
      expect([kind.apiKeyEnv, kind.apiKeyInput]).toEqual([variable, input]);
      expect(withApiKey(env, kind, 'sk-1')).toEqual({ PATH: '/bin', [variable!]: 'sk-1' });
      expect(withApiKey(env, kind, null)).toEqual({ PATH: '/bin' });
    }
    const keyless = { ...AGENT_KINDS.command, apiKeyEnv: null };
    expect(withApiKey(env, keyless, 'sk-1')).toEqual({ PATH: '/bin' });
  });
});
