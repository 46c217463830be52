import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { ExecutionState, TaskRun } from '../monitor/state.js';
import type { Plan, Task } from '../plan/schema.js';
import type { Selection } from '../schedule/select.js';
import { assignPorts, portFor } from '../workspace/ports.js';
import {
  defaultBranchName,
  isValidBranchName,
  localBranches,
  sanitizeBranchName,
  taskSlug,
  uniqueName,
} from '../workspace/refs.js';
import { defaultWorktreeRoot, executionPaths, taskFileKeys } from './paths.js';
import type { ExecutionSettings } from './settings.js';

export const UNASSIGNED_AGENT = 'unassigned';

/** Where each task will live: decided once, before anything is created, and kept in the state. */
export interface TaskLayout {
  taskId: string;
  branch: string;
  worktree: string;
  fileKey: string;
  port: number;
}

export function worktreeRootOf(repoRoot: string, settings: ExecutionSettings): string {
  if (settings.worktreeRoot === null) return defaultWorktreeRoot(repoRoot);
  return isAbsolute(settings.worktreeRoot)
    ? settings.worktreeRoot
    : resolve(repoRoot, settings.worktreeRoot);
}

export function leadAgent(task: Task): string {
  return task.agents[0] ?? UNASSIGNED_AGENT;
}

/**
 * Branch and worktree per task, unique against what exists (branches and folders a previous
 * execution left) and against each other. A branch the plan names is used when it can be made
 * valid; otherwise `agent/<agent>/<task-slug>`.
 */
export async function planLayout(
  repoRoot: string,
  tasks: readonly Task[],
  settings: ExecutionSettings,
): Promise<TaskLayout[]> {
  const takenBranches = await localBranches(repoRoot);
  const root = worktreeRootOf(repoRoot, settings);
  const takenDirs = new Set(await readdir(root).catch(() => [] as string[]));
  const keys = taskFileKeys(tasks.map((task) => task.id));
  const ports = assignPorts(
    tasks.map((task) => task.agents),
    settings.portBase,
    settings.portsPerAgent,
  );
  const layouts: TaskLayout[] = [];
  // Tasks with no agent are not serialised, so each gets a range of its own after the agents'.
  let spareRange = ports.size;
  for (const task of tasks) {
    const fallback = defaultBranchName(leadAgent(task), task.id, task.title);
    const fromPlan = task.branch === null ? null : sanitizeBranchName(task.branch);
    const wanted =
      fromPlan !== null && (await isValidBranchName(repoRoot, fromPlan)) ? fromPlan : fallback;
    const branch = uniqueName(wanted, takenBranches);
    const dir = uniqueName(taskSlug(task.id, task.title), takenDirs);
    layouts.push({
      taskId: task.id,
      branch,
      worktree: join(root, dir),
      fileKey: keys.get(task.id)!,
      port:
        task.agents.length === 0
          ? settings.portBase + spareRange++ * settings.portsPerAgent
          : portFor(ports, leadAgent(task), settings.portBase),
    });
  }
  return layouts;
}

type PlanFields =
  'task_id' | 'task' | 'agent' | 'agents' | 'group' | 'depends_on' | 'estimate_hours';

/** The fields of a task's run that the plan says (the same wherever and however the task runs). */
export function planFieldsOf(task: Task): Pick<TaskRun, PlanFields> {
  return {
    task_id: task.id,
    task: task.title,
    agent: leadAgent(task),
    agents: task.agents,
    group: task.group,
    depends_on: task.dependsOn,
    estimate_hours: task.estimateHours,
  };
}

export function initialTaskRun(
  task: Task,
  layout: TaskLayout,
  repoRoot: string,
  executionId: string,
): TaskRun {
  const paths = executionPaths(repoRoot, executionId);
  return {
    ...planFieldsOf(task),
    status: 'pending',
    progress_percent: 0,
    current_step: null,
    started_at: null,
    finished_at: null,
    worktree: layout.worktree,
    branch: layout.branch,
    start_sha: null,
    head_sha: null,
    pid: null,
    attempts: 0,
    exit_code: null,
    reason: null,
    log_file: join(paths.logsDir, `${layout.fileKey}.log`),
    output_dir: join(paths.outputsDir, layout.fileKey),
    port: layout.port,
    metrics: null,
    validation: null,
  };
}

export interface InitialStateInput {
  executionId: string;
  plan: Plan;
  planFile: string;
  selection: Selection;
  layouts: TaskLayout[];
  repoRoot: string;
  baseRef: string;
  baseSha: string;
  now: Date;
  orchestratorPid: number;
}

export function initialState(input: InitialStateInput): ExecutionState {
  const tasks: Record<string, TaskRun> = {};
  input.selection.tasks.forEach((task, i) => {
    tasks[task.id] = initialTaskRun(task, input.layouts[i]!, input.repoRoot, input.executionId);
  });
  return {
    version: 1,
    execution_id: input.executionId,
    plan_file: input.planFile,
    plan_title: input.plan.title,
    parallel_group: input.selection.group,
    repo_root: input.repoRoot,
    base_ref: input.baseRef,
    base_sha: input.baseSha,
    started_at: input.now.toISOString(),
    finished_at: null,
    status: 'in_progress',
    orchestrator_pid: input.orchestratorPid,
    tasks,
    task_order: input.selection.tasks.map((task) => task.id),
    completed_tasks: [],
    failed_tasks: [],
    messages: [],
    integration: null,
    report_path: null,
  };
}
