import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { ExecutionState, TaskRun } from '../state/schema.js';
import type { Plan, Task } from '../plan/schema.js';
import type { Selection } from '../schedule/select.js';
import { assignPorts, portFor } from '../workspace/ports.js';
import {
  defaultBranchName,
  freeBranchName,
  isValidBranchName,
  localBranches,
  nameInUse,
  namesInUse,
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
  /** Why the branch is not the one the plan's Branch column names (null: it is, or none named). */
  note?: string | null;
}

export function worktreeRootOf(repoRoot: string, settings: ExecutionSettings): string {
  if (settings.worktreeRoot === null) return defaultWorktreeRoot(repoRoot);
  return isAbsolute(settings.worktreeRoot)
    ? settings.worktreeRoot
    : resolve(repoRoot, settings.worktreeRoot);
}

/**
 * The folder of one execution's worktrees: `<worktree root>/<execution id>/`. Worktree folders are
 * never shared between executions, so cleaning one execution cannot remove another's worktree.
 */
export function executionWorktreeRoot(
  repoRoot: string,
  settings: ExecutionSettings,
  executionId: string,
): string {
  return join(worktreeRootOf(repoRoot, settings), executionId);
}

export function leadAgent(task: Task): string {
  return task.agents[0] ?? UNASSIGNED_AGENT;
}

/**
 * Branch and worktree per task, unique against what exists and against each other. A branch the
 * plan names is used when it can be made valid and git does not already read that name as
 * something else (an existing branch, a tag, `origin/x`…): a task branch must never be mistaken for
 * another ref when it is merged. Otherwise a free variant (`v2-2`) is used, or
 * `agent/<agent>/<task-slug>`, and the layout's `note` says why.
 */
export async function planLayout(
  repoRoot: string,
  tasks: readonly Task[],
  settings: ExecutionSettings,
  executionId: string,
): Promise<TaskLayout[]> {
  const root = executionWorktreeRoot(repoRoot, settings, executionId);
  // Independent of the names below: asked while they are checked.
  const branchesNow = localBranches(repoRoot);
  const dirsNow = readdir(root).catch(() => [] as string[]);
  branchesNow.catch(() => undefined);
  const keys = taskFileKeys(tasks.map((task) => task.id));
  const ports = assignPorts(
    tasks.map((task) => task.agents),
    settings.portBase,
    settings.portsPerAgent,
  );
  const layouts: TaskLayout[] = [];
  // Tasks with no agent are not serialised, so each gets a range of its own after the agents'.
  let spareRange = ports.size;
  const names: Array<{ fromPlan: string | null; wanted: string }> = [];
  for (const task of tasks) {
    const fallback = defaultBranchName(leadAgent(task), task.id, task.title);
    const fromPlan = task.branch === null ? null : sanitizeBranchName(task.branch);
    const valid = fromPlan !== null && (await isValidBranchName(repoRoot, fromPlan));
    names.push({ fromPlan, wanted: valid ? fromPlan : fallback });
  }
  // One git process for every task's name, not one per task (200 tasks, 200 processes).
  const known = await namesInUse(
    repoRoot,
    names.map((name) => name.wanted),
  );
  const takenBranches = await branchesNow;
  const takenDirs = new Set(await dirsNow);
  for (const [i, task] of tasks.entries()) {
    const { fromPlan, wanted } = names[i]!;
    const branch = await freeBranchName(repoRoot, wanted, takenBranches, known);
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
      note: task.branch === null ? null : await renameNote(repoRoot, task.branch, fromPlan, branch),
    });
  }
  return layouts;
}

/** What the user is told when the task does not get the branch its Branch cell names. */
async function renameNote(
  repoRoot: string,
  cell: string,
  fromPlan: string | null,
  branch: string,
): Promise<string | null> {
  if (branch === cell) return null;
  const said = `the plan's Branch \`${cell}\``;
  if (fromPlan === null || !(await isValidBranchName(repoRoot, fromPlan)))
    return `${said} cannot be made a valid branch name: the task works on branch ${branch}`;
  if (branch === fromPlan) return `${said} is used as the branch name ${branch}`;
  const as = fromPlan === cell ? '' : ` (as a branch: ${fromPlan})`;
  return `${said}${as} ${await takenAs(repoRoot, fromPlan)}: the task works on branch ${branch}`;
}

/** What an existing name is to git: a task branch of that name would be mistaken for it. */
async function takenAs(repoRoot: string, name: string): Promise<string> {
  const kinds: string[] = [];
  if (await nameInUse(repoRoot, `refs/tags/${name}`)) kinds.push('tag');
  if (await nameInUse(repoRoot, `refs/heads/${name}`)) kinds.push('branch');
  if (await nameInUse(repoRoot, `refs/remotes/${name}`)) kinds.push('remote branch');
  if (kinds.length > 0) return `names an existing ${kinds.join(' and ')}`;
  if (await nameInUse(repoRoot, name))
    return 'is a name git already reads as another ref or commit';
  return 'is taken (by another task, or a branch under or above it, or one whose name differs only in case)';
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
    ...(layout.note ? { warnings: [layout.note] } : {}),
  };
}

export interface InitialStateInput {
  executionId: string;
  plan: Plan;
  planFile: string;
  /** What the execution runs (a whole selection, or one task on a matrix leg). */
  selection: Pick<Selection, 'group' | 'tasks'>;
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
