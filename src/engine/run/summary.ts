import type { ExecutionState, TaskRunStatus } from '../monitor/state.js';

/** The `--json` document of `run` and `resume` (issue 4 adds validation, integration, report). */
export interface ExecutionSummary {
  executionId: string;
  status: ExecutionState['status'];
  tasks: Array<{
    id: string;
    agent: string;
    branch: string;
    worktree: string;
    status: TaskRunStatus;
    attempts: number;
    durationMs: number | null;
    exitCode: number | null;
    reason: string | null;
  }>;
}

export function executionSummary(state: ExecutionState): ExecutionSummary {
  return {
    executionId: state.execution_id,
    status: state.status,
    tasks: state.task_order.map((id) => {
      const run = state.tasks[id]!;
      return {
        id,
        agent: run.agent,
        branch: run.branch,
        worktree: run.worktree,
        status: run.status,
        attempts: run.attempts,
        durationMs: taskDurationMs(run.started_at, run.finished_at),
        exitCode: run.exit_code,
        reason: run.reason,
      };
    }),
  };
}

export function taskDurationMs(startedAt: string | null, finishedAt: string | null): number | null {
  if (startedAt === null || finishedAt === null) return null;
  return Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt));
}
