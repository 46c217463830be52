import { access, constants } from 'node:fs/promises';
import { PreflightError, UsageError } from '../errors.js';
import type { AgentHandle, AgentLaunch, AgentRunner } from '../ports/agent-runner.js';
import { agentEnvironment, processOwner } from './agent-env.js';
import type { AgentKind } from './kind.js';
import { startAgentProcess } from './process.js';

export interface CommandRunnerOptions {
  /** The user's own command (config or `--agent-command`): trusted text, run with `<shell> -c`. */
  command: string;
  /** Default `/bin/sh`. */
  shell?: string;
  /** Grace between SIGTERM and SIGKILL when `stop()` is given none (default 10 s). */
  graceMs?: number;
  /** Output lines kept for the outcome (default 20). */
  lastLines?: number;
  /** Extra environment for the agent (config `agent.env`), over the shell's. */
  extraEnv?: Record<string, string>;
}

/**
 * The `command` adapter: runs the user's command in the task's worktree. The task reaches it only
 * through PE_* variables and the files they name; the command string is never built from plan text.
 */
export function createCommandRunner(options: CommandRunnerOptions): AgentRunner {
  const shell = options.shell ?? '/bin/sh';
  return {
    kind: 'command',
    command: options.command,
    async preflight() {
      if (options.command.trim() === '') {
        throw new PreflightError(
          'the agent command is empty',
          'Pass `--agent-command "<command>"` or set agent.command in .github/parallel-executor.yml.',
        );
      }
      try {
        await access(shell, constants.X_OK);
      } catch {
        throw new PreflightError(
          `the shell ${shell} that runs the agent command is not executable here`,
          'Install a POSIX shell or configure another one.',
        );
      }
    },
    start(launch: AgentLaunch): Promise<AgentHandle> {
      return startAgentProcess({
        file: shell,
        args: ['-c', options.command],
        cwd: launch.worktree,
        env: agentEnvironment({ ...launch, env: { ...launch.env, ...options.extraEnv } }),
        logFile: launch.logFile,
        statusFile: launch.statusFile,
        signal: launch.signal,
        owner: processOwner(launch),
        graceMs: options.graceMs,
        lastLines: options.lastLines,
      });
    },
  };
}

/** `command`: the user's own agent. It gets the API key too, as it often wraps Claude Code. */
export const commandKind: AgentKind = {
  apiKeyEnv: 'ANTHROPIC_API_KEY',
  apiKeyInput: 'anthropic-api-key',
  describe: (settings) => `command: ${settings.command ?? ''}`,
  create(settings) {
    if (settings.command === undefined || settings.command.trim() === '') {
      throw new UsageError(
        'the command agent needs a command',
        'Pass `--agent-command "<command>"` or set agent.command in .github/parallel-executor.yml.',
      );
    }
    return createCommandRunner({
      command: settings.command,
      graceMs: settings.graceMs,
      extraEnv: settings.env,
    });
  },
};
