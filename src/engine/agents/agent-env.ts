import type { AgentLaunch } from '../ports/agent-runner.js';

/**
 * The environment every agent gets: the shell's filtered env plus the PE_* variables. Plan text
 * (the title above all) reaches the agent here, as data, never inside a command line.
 */
export function agentEnvironment(launch: AgentLaunch): Record<string, string> {
  return {
    ...launch.env,
    PE_EXECUTION_ID: launch.executionId,
    PE_TASK_ID: launch.taskId,
    PE_TASK_TITLE: launch.taskTitle,
    PE_AGENT: launch.agent,
    PE_BRANCH: launch.branch,
    PE_WORKTREE: launch.worktree,
    PE_CONTEXT_FILE: launch.contextFile,
    PE_STATUS_FILE: launch.statusFile,
    PE_PORT: String(launch.port),
    PE_LOG_FILE: launch.logFile,
  };
}
