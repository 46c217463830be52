import type { AgentRunner } from '../ports/agent-runner.js';
import type { AgentSettings } from './create-runner.js';

/** The shell's side of building a runner: its environment and the repository root. */
export interface AgentRunnerContext {
  env: Record<string, string>;
  cwd: string;
}

/**
 * One kind of agent (`agent.kind` in the config, `--agent`, the action's `agent` input): how to
 * build its runner and what the shells need to know about it. A new kind is one file that exports
 * one of these, plus one line in `kinds.ts`.
 */
export interface AgentKind {
  /**
   * The variable the agent reads its API key from: the Action puts the input `apiKeyInput` names
   * there, and keeps it from every process it does not trust. Null when the kind takes no key.
   */
  apiKeyEnv: string | null;
  /** The action input that holds that key (the only key the agent is given); null: none. */
  apiKeyInput: 'anthropic-api-key' | 'openai-api-key' | null;
  /** Other variables that hold the kind's credentials: kept from untrusted processes too. */
  secretEnv?: readonly string[];
  /** What runs, in one line (the dry-run preview). */
  describe(settings: AgentSettings): string;
  create(settings: AgentSettings, context: AgentRunnerContext): AgentRunner;
}
