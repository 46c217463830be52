/**
 * The engine's `ExecutionState` rebuilt from what lives in GitHub (the record and the task check
 * runs), so the engine's dashboard renderer draws the live comment. Fields that only exist on a
 * runner (worktree, pid, ports) stay empty.
 */
import type { ExecutionState, TaskRun, TaskRunStatus } from '../../engine/state/schema.js';
import type { CheckRunInfo } from '../../forge/types.js';
import type { ExecutionRecord, RecordedTask } from './record.js';
import { decodeTaskData } from './task-data.js';

export type ExecutionPhase = 'running' | 'completed' | 'failed' | 'cancelled';

export function taskStatusOf(check: CheckRunInfo | undefined): TaskRunStatus {
  if (!check) return 'pending';
  if (check.status === 'in_progress') return 'in_progress';
  if (check.status !== 'completed') return 'pending';
  switch (check.conclusion) {
    case 'success':
      return 'completed';
    case 'cancelled':
      return 'cancelled';
    case 'skipped':
    case 'neutral':
      return 'skipped';
    default:
      return 'failed';
  }
}

export function buildExecutionState(
  record: ExecutionRecord,
  checks: ReadonlyMap<string, CheckRunInfo>,
  options: { now: Date; phase: ExecutionPhase; finishedAt?: string | null },
): ExecutionState {
  const tasks: Record<string, TaskRun> = {};
  for (const task of record.tasks) tasks[task.id] = taskRun(task, checks.get(task.id), options.now);
  const runs = Object.values(tasks);
  return {
    version: 1,
    execution_id: record.execution,
    plan_file: record.plan,
    plan_title: record.planTitle,
    parallel_group: record.group,
    repo_root: '',
    base_ref: record.ref,
    base_sha: record.sha,
    started_at: record.startedAt,
    finished_at:
      options.phase === 'running' ? null : (options.finishedAt ?? options.now.toISOString()),
    status: options.phase === 'running' ? 'in_progress' : options.phase,
    orchestrator_pid: null,
    tasks,
    task_order: record.tasks.map((t) => t.id),
    completed_tasks: runs.filter((t) => t.status === 'completed').map((t) => t.task_id),
    failed_tasks: runs.filter((t) => t.status === 'failed').map((t) => t.task_id),
    messages: [],
    integration: null,
    report_path: null,
  };
}

function taskRun(task: RecordedTask, check: CheckRunInfo | undefined, now: Date): TaskRun {
  const status = taskStatusOf(check);
  const data = decodeTaskData(check?.outputSummary ?? null);
  return {
    task_id: task.id,
    task: task.title,
    agent: task.agent,
    agents: task.agents,
    group: task.group,
    depends_on: task.dependsOn,
    estimate_hours: task.estimateHours,
    status,
    progress_percent: progress(status, data.startedAt, task.estimateHours, now),
    current_step: check?.outputTitle ?? null,
    started_at: data.startedAt,
    finished_at: data.finishedAt,
    worktree: '',
    branch: '',
    start_sha: null,
    head_sha: null,
    pid: null,
    attempts: data.startedAt === null ? 0 : 1,
    exit_code: null,
    reason:
      status === 'failed' || status === 'cancelled' || status === 'skipped'
        ? (check?.outputTitle ?? null)
        : null,
    log_file: data.jobUrl ?? '',
    output_dir: '',
    port: 0,
    metrics: null,
    validation: null,
  };
}

/**
 * A runner does not report percentages back to the app, so a running task's bar is its elapsed
 * time against the plan's estimate, held below 95 % until the job really ends.
 */
function progress(
  status: TaskRunStatus,
  startedAt: string | null,
  estimateHours: number | null,
  now: Date,
): number {
  if (status === 'completed' || status === 'failed' || status === 'skipped') return 100;
  if (status !== 'in_progress' || startedAt === null || !estimateHours) return 0;
  const elapsed = now.getTime() - Date.parse(startedAt);
  if (!Number.isFinite(elapsed) || elapsed <= 0) return 0;
  return Math.min(95, Math.round((elapsed / (estimateHours * 3_600_000)) * 100));
}
