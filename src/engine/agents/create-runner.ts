import type { AgentRunner } from '../ports/agent-runner.js';
import type { CodexConfigValue } from './codex.js';
import type { ClaudeSettings } from './claude-code.js';
import type { AgentRunnerContext } from './kind.js';
import { AGENT_KINDS, type AgentKindName } from './kinds.js';

/** The agent part of the settings, as config `agent:` and the `--agent`/`--agent-command` flags give it. */
export interface AgentSettings extends ClaudeSettings {
  kind: AgentKindName;
  command?: string;
  allowedTools: string[];
  binary?: string;
  extraArgs?: string[];
  /** For `codex`: `-c key=value` overrides (agent.codex.config). */
  codexConfig?: Record<string, CodexConfigValue>;
  /** Extra environment for the agent process. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL when the orchestrator stops an agent without naming a grace. */
  graceMs?: number;
}

/**
 * Builds the runner the settings ask for. `env` and `cwd` are the shell's (its environment and the
 * repository root): the engine has no ambient environment of its own.
 */
export function createAgentRunner(
  settings: AgentSettings,
  context: AgentRunnerContext,
): AgentRunner {
  return AGENT_KINDS[settings.kind].create(settings, context);
}
