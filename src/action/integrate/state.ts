/**
 * The execution's state (the engine's ExecutionState, PARALLEL_EXECUTION_STATUS.json) put together
 * on the integrate job from what the agent legs sent: each task's record from its `task.json`,
 * a failed record for a task whose bundle is missing or was refused, and the integration result.
 * The report is rendered from it, and the app reads it from the `parallel-executor-state` artifact.
 */
import type { IntegrationResult } from '../../engine/integrate/schema.js';
import type { ExecutionState, TaskRun } from '../../engine/state/schema.js';
import type { Plan, Task } from '../../engine/plan/schema.js';
import { planFieldsOf } from '../../engine/run/layout.js';
import { artifactName } from '../task-file.js';
import type { ReceivedTask } from './bundles.js';

export interface StateInput {
  executionId: string;
  planFile: string;
  plan: Plan;
  /** A group id, or `all`. */
  group: string;
  root: string;
  baseRef: string;
  baseSha: string;
  /** This wave's tasks, in plan order. */
  wave: readonly Task[];
  received: readonly ReceivedTask[];
  integration: IntegrationResult | null;
  reportPath: string | null;
  now: Date;
}

export function buildState(input: StateInput): ExecutionState {
  const tasks: Record<string, TaskRun> = {};
  const order = [
    ...input.wave.map((task) => task.id),
    // A bundle for a task outside the wave (the plan changed between jobs) is still reported.
    ...input.received
      .map((r) => r.file.task_id)
      .filter((id) => !input.wave.some((t) => t.id === id)),
  ];
  for (const id of order) {
    const received = input.received.find((r) => r.file.task_id === id);
    const task = input.plan.tasks.find((t) => t.id === id)!;
    tasks[id] = received ? fromBundle(received) : missing(task);
  }
  const runs = Object.values(tasks);
  const started = runs
    .map((run) => run.started_at)
    .filter((at): at is string => at !== null)
    .sort()[0];
  return {
    version: 1,
    execution_id: input.executionId,
    plan_file: input.planFile,
    plan_title: input.plan.title,
    parallel_group: input.group,
    repo_root: input.root,
    base_ref: input.baseRef,
    base_sha: input.baseSha,
    started_at: started ?? input.now.toISOString(),
    finished_at: input.now.toISOString(),
    status: runs.every((run) => run.status === 'completed') ? 'completed' : 'failed',
    orchestrator_pid: null,
    tasks,
    task_order: order,
    completed_tasks: runs.filter((run) => run.status === 'completed').map((run) => run.task_id),
    failed_tasks: runs.filter((run) => run.status === 'failed').map((run) => run.task_id),
    messages: [],
    integration: input.integration,
    report_path: input.reportPath,
  };
}

function fromBundle(received: ReceivedTask): TaskRun {
  const { run } = received.file;
  if (received.problem === null) return run;
  return {
    ...run,
    status: 'failed',
    reason: `its bundle was refused: ${received.problem}`,
  };
}

function missing(task: Task): TaskRun {
  const artifact = artifactName(task.id);
  return {
    ...planFieldsOf(task),
    status: 'failed',
    progress_percent: 0,
    current_step: null,
    started_at: null,
    finished_at: null,
    worktree: '',
    branch: '',
    start_sha: null,
    head_sha: null,
    pid: null,
    attempts: 0,
    exit_code: null,
    reason: `no bundle: the ${artifact} artifact is missing (the agent job failed before writing it, or was cancelled)`,
    log_file: `${artifact}/agent.log`,
    output_dir: artifact,
    port: 0,
    metrics: null,
    validation: null,
  };
}
