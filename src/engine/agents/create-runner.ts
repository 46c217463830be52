import { UsageError } from '../errors.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import { createClaudeCodeRunner } from './claude-code.js';
import { createCommandRunner } from './command.js';

/** The agent part of the settings, as config `agent:` and the `--agent`/`--agent-command` flags give it. */
export interface AgentSettings {
  kind: 'claude-code' | 'command';
  command?: string;
  allowedTools: string[];
  model?: string;
  binary?: string;
  extraArgs?: string[];
  /** Between SIGTERM and SIGKILL when the orchestrator stops an agent without naming a grace. */
  graceMs?: number;
}

/**
 * Builds the runner the settings ask for. `env` and `cwd` are the shell's (its environment and the
 * repository root): the engine has no ambient environment of its own.
 */
export function createAgentRunner(
  settings: AgentSettings,
  context: { env: Record<string, string>; cwd: string },
): AgentRunner {
  if (settings.kind === 'command') {
    if (settings.command === undefined || settings.command.trim() === '') {
      throw new UsageError(
        'the command agent needs a command',
        'Pass `--agent-command "<command>"` or set agent.command in .github/parallel-executor.yml.',
      );
    }
    return createCommandRunner({ command: settings.command, graceMs: settings.graceMs });
  }
  return createClaudeCodeRunner({
    binary: settings.binary,
    allowedTools: settings.allowedTools,
    model: settings.model,
    extraArgs: settings.extraArgs,
    env: context.env,
    cwd: context.cwd,
    graceMs: settings.graceMs,
  });
}
