import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CONTEXT_FILE, SUMMARY_FILE } from '../collect/collect.js';
import type { TaskRun } from '../monitor/state.js';
import { git } from '../workspace/git-exec.js';
import { renderAgentContext, type DependencyContext } from '../workspace/context.js';
import { replicateConfig } from '../workspace/replicate.js';
import { runSetupCommand } from '../workspace/setup.js';
import { excludeFromGit } from '../workspace/repo.js';
import {
  addWorktree,
  initSubmodules,
  mergeDependencies,
  resetWorktree,
} from '../workspace/worktree.js';
import { agentKey } from './paths.js';
import type { RunContext } from './context.js';

export class TaskPreparationError extends Error {}

/**
 * Phase 2 for one task: its worktree and branch (from the base, with the dependencies that ran in
 * this execution merged in), the replicated configuration, the setup command, AGENT_CONTEXT.md.
 * Throws TaskPreparationError with a reason the user can act on.
 */
export async function prepareTask(ctx: RunContext, run: TaskRun): Promise<void> {
  await mkdir(dirname(run.log_file), { recursive: true });
  await mkdir(dirname(run.worktree), { recursive: true });
  await addWorktree(
    ctx.state.repo_root,
    run.worktree,
    run.branch,
    ctx.state.base_sha,
    ctx.repoLock,
  );
  const deps = run.depends_on
    .map((id) => ctx.state.tasks[id])
    .filter((dep): dep is TaskRun => dep !== undefined && dep.status === 'completed');
  const conflict = await mergeDependencies(
    run.worktree,
    deps.map((dep) => ({ taskId: dep.task_id, branch: dep.branch })),
    ctx.settings.identity,
  );
  if (conflict !== null) {
    throw new TaskPreparationError(
      `merging the work of dependency ${conflict.taskId} conflicts in: ${conflict.files.join(', ') || '(unknown files)'}`,
    );
  }
  run.start_sha =
    deps.length === 0
      ? ctx.state.base_sha
      : (await git(run.worktree, ['rev-parse', 'HEAD'])).stdout.trim();
  const submodules = await initSubmodules(run.worktree, ctx.env);
  if (submodules !== null) {
    throw new TaskPreparationError(
      `the repository has submodules (.gitmodules) and they could not be checked out in the task's worktree: ${submodules}. Check that their URLs are reachable from here (try \`git submodule update --init --recursive\` in ${run.worktree}), then retry the task (parallel-executor resume <execution> --retry-failed)`,
    );
  }
  await populateWorktree(ctx, run);
  await keepToolFilesOut(ctx, run);
  if (ctx.settings.setupCommand !== null) {
    const result = await runSetupCommand(
      ctx.settings.setupCommand,
      run.worktree,
      run.log_file,
      ctx.env,
      ctx.signal,
    );
    if (result.exitCode !== 0 && !ctx.signal.aborted) {
      throw new TaskPreparationError(
        `setup command failed (${result.exitCode === null ? `signal ${result.signal}` : `exit ${result.exitCode}`}); its output is in ${run.log_file}`,
      );
    }
  }
}

/** Before a retry: back to the start commit, with configuration and context written again. */
export async function resetTaskWorkspace(ctx: RunContext, run: TaskRun): Promise<void> {
  if (run.start_sha === null) return;
  await resetWorktree(run.worktree, run.branch, run.start_sha);
  await populateWorktree(ctx, run);
}

async function populateWorktree(ctx: RunContext, run: TaskRun): Promise<void> {
  const copied = await replicateConfig(
    ctx.state.repo_root,
    run.worktree,
    ctx.settings.replicate,
    await ctx.tracked(),
  );
  ctx.replicated.set(run.task_id, copied);
  await writeFile(join(run.worktree, CONTEXT_FILE), await contextFor(ctx, run));
  await rm(statusFileOf(ctx, run), { force: true });
  await mkdir(ctx.paths.statusDir, { recursive: true });
}

/**
 * An agent's `git add -A` must not pick up what the tool put in its worktree: exclude those
 * paths (once, in the shared info/exclude; the run names the lines it added there).
 */
async function keepToolFilesOut(ctx: RunContext, run: TaskRun): Promise<void> {
  const paths = [CONTEXT_FILE, SUMMARY_FILE, ...(ctx.replicated.get(run.task_id) ?? [])];
  const added = await ctx.repoLock.run(() => excludeFromGit(ctx.state.repo_root, paths));
  if (added.length === 0) return;
  ctx.state.checkout_changes = [
    ...(ctx.state.checkout_changes ?? []),
    `.git/info/exclude: added ${added.join(', ')} so that agents cannot commit the files parallel-executor puts in their worktrees (remove the lines to undo)`,
  ];
}

export function statusFileOf(ctx: RunContext, run: TaskRun): string {
  return join(ctx.paths.statusDir, `${fileKeyOf(run)}.json`);
}

/** The key the task's log and output folder were named with. */
function fileKeyOf(run: TaskRun): string {
  return run.output_dir.split(/[\\/]/).pop()!;
}

async function contextFor(ctx: RunContext, run: TaskRun): Promise<string> {
  const task = ctx.plan.tasks.find((t) => t.id === run.task_id)!;
  const dependencies: DependencyContext[] = [];
  for (const id of run.depends_on) {
    const depRun = ctx.state.tasks[id];
    const depTask = ctx.plan.tasks.find((t) => t.id === id);
    if (depRun !== undefined) {
      dependencies.push({
        id,
        title: depRun.task,
        agent: depRun.agent,
        completedIn: 'this-execution',
        branch: depRun.branch,
        filesChanged: depRun.metrics?.files_changed ?? [],
        summary: await readFile(join(depRun.output_dir, SUMMARY_FILE), 'utf8').catch(() => null),
      });
    } else if (depTask !== undefined) {
      dependencies.push({
        id,
        title: depTask.title,
        agent: depTask.agents[0] ?? 'unassigned',
        completedIn: 'plan',
        branch: null,
        filesChanged: depTask.files,
        summary: null,
      });
    }
  }
  const inbox = agentKey(run.agent);
  const everyone = [
    ...new Set(Object.values(ctx.state.tasks).flatMap((t) => t.agents.map(agentKey))),
  ];
  return renderAgentContext({
    executionId: ctx.state.execution_id,
    task,
    agent: run.agent,
    groupTitle: ctx.plan.groups.find((g) => g.id === task.group)?.title ?? null,
    planTitle: ctx.plan.title,
    branch: run.branch,
    baseRef: ctx.state.base_ref,
    dependencies,
    otherAgents: everyone.filter((a) => a !== inbox && a !== 'all'),
    inbox,
    port: run.port,
    portsPerAgent: ctx.settings.portsPerAgent,
  });
}
