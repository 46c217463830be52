import { readFile } from 'node:fs/promises';
import { ParallelExecutorError } from '../errors.js';
import type { AgentLaunch } from '../ports/agent-runner.js';
import type { ProcessOwner } from './stray-processes.js';

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

/** Whose processes the agent's are (PE_EXECUTION_ID, PE_TASK_ID, PE_WORKTREE), for stray-process clean-up. */
export function processOwner(launch: AgentLaunch): ProcessOwner {
  return { executionId: launch.executionId, taskId: launch.taskId, worktree: launch.worktree };
}

/** AGENT_CONTEXT.md, the prompt of an agent that takes one on stdin. */
export async function readContextBundle(launch: AgentLaunch): Promise<string> {
  return readFile(launch.contextFile, 'utf8').catch((error: unknown) => {
    throw new ParallelExecutorError(
      `cannot read the context bundle ${launch.contextFile} for task ${launch.taskId}`,
      'The workspace step writes AGENT_CONTEXT.md before the agent starts; check that it ran.',
      { cause: error },
    );
  });
}
