import type { ExecutionState } from '../engine/monitor/state.js';
import type { ExecutionPreview } from '../engine/run/orchestrator.js';
import type { PreflightReport } from '../engine/run/preflight.js';
import { formatDurationMs } from '../engine/run/duration.js';
import { taskDurationMs } from '../engine/run/summary.js';

const MARK = { ok: '✔', warn: '!', fail: '✖' } as const;

/** Phase 1's go/no-go report. */
export function formatPreflight(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = ['Pre-flight checks:'];
  for (const check of report.checks) {
    lines.push(`  ${MARK[check.level]} ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.hint !== null && check.level !== 'ok')
      lines.push(`    ${' '.repeat(width)}  hint: ${check.hint}`);
  }
  lines.push(report.go ? 'GO' : 'NO-GO: nothing was started.');
  return `${lines.join('\n')}\n`;
}

/** `--dry-run`: what would be created and run. */
export function formatPreview(preview: ExecutionPreview, agentLine: string): string {
  const lines = [
    '',
    `Dry run: nothing was created. An execution now would be ${preview.executionId}:`,
    `  base       ${preview.baseRef} at ${preview.baseSha.slice(0, 12)}`,
    `  state      ${preview.executionDir}/PARALLEL_EXECUTION_STATUS.json`,
    `  worktrees  ${preview.worktreeRoot}/`,
    `  agent      ${agentLine}`,
    ...(preview.setupCommand ? [`  setup      ${preview.setupCommand}`] : []),
    ...(preview.alreadyCompleted.length > 0
      ? [`  not re-run (completed in the plan): ${preview.alreadyCompleted.join(', ')}`]
      : []),
    '',
    `Tasks (${preview.tasks.length}):`,
  ];
  for (const task of preview.tasks) {
    const from = task.dependsOn.length > 0 ? `after ${task.dependsOn.join(', ')}` : 'at once';
    lines.push(
      `  ${task.taskId}  ${task.title}`,
      `      agent ${task.agents.join(', ') || 'unassigned'}, starts ${from}, port ${task.port}`,
      `      branch ${task.branch}`,
      `      worktree ${task.worktree}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const STATUS_MARK: Record<string, string> = {
  completed: '✔',
  failed: '✖',
  skipped: '⏭',
  cancelled: '■',
};

/** The closing summary: one line per task, where things are, what to do next. */
export function formatSummary(state: ExecutionState, stateFile: string): string {
  const lines = ['', `Execution ${state.execution_id}: ${state.status.toUpperCase()}`];
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    const duration = taskDurationMs(run.started_at, run.finished_at);
    const took = duration === null ? '' : ` in ${formatDurationMs(duration)}`;
    const attempts = run.attempts > 1 ? `, ${run.attempts} attempts` : '';
    lines.push(
      `  ${STATUS_MARK[run.status] ?? '·'} ${id} ${run.status}${took}${attempts}  ${run.branch}`,
    );
    if (run.reason !== null) lines.push(`      ${run.reason}`);
  }
  lines.push(`State: ${stateFile}`);
  const kept = state.task_order.filter((id) => state.tasks[id]!.status === 'failed');
  if (kept.length > 0) {
    lines.push(`Worktrees, branches and logs of failed tasks are kept (${kept.join(', ')}).`);
  }
  if (state.status === 'cancelled') {
    lines.push(`Resume with: parallel-executor resume ${state.execution_id}`);
  }
  return `${lines.join('\n')}\n`;
}
