/**
 * One matrix leg through the engine: the task's worktree and branch (the engine's naming),
 * AGENT_CONTEXT.md, the setup command, the agent under the engine's time and idle limits and
 * retries, collection and validation — the same code the CLI runs, on an execution of one task.
 * Dependencies are not merged here: in Actions one run is one wave, so what a task depends on was
 * integrated by an earlier run and is already in the checked-out commit.
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from '../../engine/config/schema.js';
import { ParallelExecutorError } from '../../engine/errors.js';
import type { ExecutionEvent } from '../../engine/monitor/events.js';
import type { ExecutionState, TaskRun } from '../../engine/state/schema.js';
import type { AgentRunner } from '../../engine/ports/agent-runner.js';
import type { Clock } from '../../engine/ports/clock.js';
import type { Logger } from '../../engine/ports/logger.js';
import type { Plan, Task } from '../../engine/plan/schema.js';
import { initialState, planLayout } from '../../engine/run/layout.js';
import { execute } from '../../engine/run/orchestrator.js';
import { executionPaths } from '../../engine/run/paths.js';
import { resolveSettings, type ExecutionSettings } from '../../engine/run/settings.js';
import { validateTask } from '../../engine/validate/validate-task.js';
import { git } from '../../engine/workspace/git-exec.js';
import { localBranches, uniqueName } from '../../engine/workspace/refs.js';
import { excludeToolDir } from '../../engine/workspace/repo.js';
import { settingsFromConfig } from '../../engine/run/config-settings.js';

export interface AgentLegInput {
  /** The checked-out repository (GITHUB_WORKSPACE). */
  root: string;
  executionId: string;
  plan: Plan;
  planFile: string;
  task: Task;
  /** What the checkout is, as people call it (branch or ref), and its commit. */
  baseRef: string;
  baseSha: string;
  config: Config;
  runner: AgentRunner;
  /** The agent's environment (scrubbed, plus its API key). */
  agentEnv: Record<string, string>;
  /** The validation checks' environment (scrubbed, no API key: the agent may have rewritten them). */
  checksEnv: Record<string, string>;
  logger: Logger;
  clock: Clock;
  onEvent?: (event: ExecutionEvent) => void;
}

export interface AgentLegResult {
  state: ExecutionState;
  run: TaskRun;
  settings: ExecutionSettings;
}

export async function runAgentLeg(input: AgentLegInput): Promise<AgentLegResult> {
  // The budget is the whole plan's: one leg (one task) cannot hold it, so it is not applied here.
  const settings = resolveSettings({
    ...settingsFromConfig(input.config),
    concurrency: 1,
    budget: null,
    // Each leg is its own job: no other agent can read or write this one's inbox.
    messaging: false,
  });
  const [layout] = await planLayout(input.root, [input.task], settings, input.executionId);
  const branch = await clearOfRemoteBranches(input.root, layout!.branch);
  await excludeToolDir(input.root);
  const state = initialState({
    executionId: input.executionId,
    plan: input.plan,
    planFile: input.planFile,
    selection: { group: input.task.group ?? 'all', tasks: [input.task] },
    layouts: [{ ...layout!, branch }],
    repoRoot: input.root,
    baseRef: input.baseRef,
    baseSha: input.baseSha,
    now: input.clock.now(),
    orchestratorPid: process.pid,
  });
  const paths = executionPaths(input.root, input.executionId);
  await mkdir(paths.logsDir, { recursive: true });
  const run = state.tasks[input.task.id]!;
  try {
    await input.runner.preflight();
  } catch (error) {
    run.status = 'failed';
    const hint = error instanceof ParallelExecutorError && error.hint ? ` (${error.hint})` : '';
    run.reason = `the agent cannot run here: ${(error as Error).message}${hint}`;
    run.finished_at = input.clock.now().toISOString();
    state.failed_tasks = [run.task_id];
    state.status = 'failed';
    state.finished_at = run.finished_at;
    return { state, run, settings };
  }
  const result = await execute(
    {
      cwd: input.root,
      runner: input.runner,
      env: input.agentEnv,
      settings,
      clock: input.clock,
      logger: input.logger,
      hooks: {
        onTaskCollected: (collected) =>
          validateTask({
            worktree: collected.worktree,
            taskId: collected.task_id,
            agent: collected.agent,
            outputDir: collected.output_dir,
            config: input.config.validation,
            env: input.checksEnv,
          }),
      },
      ...(input.onEvent ? { onEvent: (event) => input.onEvent!(event) } : {}),
    },
    state,
    input.plan,
    paths,
    settings,
    false,
  );
  return { state: result.state, run: result.state.tasks[input.task.id]!, settings };
}

/**
 * The engine keeps branch names clear of local branches; on a runner the repository's branches
 * are remote-tracking refs, and the integrate job pushes without force, so keep clear of them too
 * (`-2`, `-3`…): a later run of the same task never collides with a branch an earlier one pushed.
 */
async function clearOfRemoteBranches(root: string, branch: string): Promise<string> {
  const { stdout } = await git(root, [
    'for-each-ref',
    '--format=%(refname:lstrip=3)',
    'refs/remotes',
  ]);
  const remote = stdout.split('\n').filter((name) => name.length > 0 && name !== 'HEAD');
  return uniqueName(branch, new Set([...(await localBranches(root)), ...remote]));
}
