/**
 * Task check runs of an execution that will not run: each one not completed yet is completed as
 * cancelled with `output` saying why, and the execution's copy follows. A check that already
 * completed keeps its conclusion.
 */
import type { Scope } from '../scope.js';
import type { ResolvedExecution } from './resolve.js';
import { showTaskCheck } from './task-checks.js';

export async function cancelTaskChecks(
  scope: Scope,
  execution: ResolvedExecution,
  output: { title: string; summary: string },
): Promise<void> {
  for (const [taskId, check] of execution.checks) {
    if (check.status === 'completed') continue;
    // The copy keeps the previous summary: the dashboard still reads the task's hidden times there.
    await showTaskCheck(
      scope,
      execution,
      taskId,
      { status: 'completed', conclusion: 'cancelled', output },
      'final',
      { keepSummary: true },
    );
  }
}
