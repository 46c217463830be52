/**
 * Agent mode (one matrix leg): in the checked-out repository, run the engine on one task — branch,
 * AGENT_CONTEXT.md, the agent under the task and idle limits, collection, validation — and write
 * the task's bundle to `bundle-dir` for the workflow to upload. It never pushes and needs no token:
 * the agent's API key is the only secret it should be given.
 *
 * The step fails when the task did not complete (failed, or blocked by a dependency that is not
 * done), after the bundle is written: the leg shows red, the workflow's upload step (`if:
 * always()`) still uploads what the task left, and `fail-fast: false` keeps the other legs going.
 */
import {
  createAgentRunner,
  type AgentSettings as RunnerSettings,
} from '../../engine/agents/create-runner.js';
import { AGENT_KINDS } from '../../engine/agents/kinds.js';
import type { Config } from '../../engine/config/schema.js';
import { mdCode, mdText } from '../../engine/report/markdown.js';
import { UsageError } from '../../engine/errors.js';
import type { ExecutionEvent } from '../../engine/monitor/events.js';
import type { Plan, Task } from '../../engine/plan/schema.js';
import { agentOptionsFromConfig } from '../../engine/run/config-settings.js';
import { parseDurationMs } from '../../engine/run/duration.js';
import { findRepoRoot, inspectRepo } from '../../engine/workspace/repo.js';
import { DEFAULT_IDENTITY } from '../../engine/workspace/identity.js';
import { writeTaskBundle } from '../agent/bundle.js';
import { runAgentLeg } from '../agent/run-leg.js';
import { untrustedEnvironment, withApiKey } from '../environment.js';
import { readConfigFile } from '../../engine/config/load.js';
import { loadPlan, requireRunnable } from '../repo-files.js';
import type { AgentSettings, RepairSettings } from '../settings.js';
import type { AgentRunner } from '../../engine/ports/agent-runner.js';
import type { LegStatus, TaskFile } from '../task-file.js';
import type { ModeDeps } from './types.js';

export interface AgentModeResult {
  status: LegStatus;
  task: TaskFile | null;
}

const FINISHED = new Set(['completed', 'skipped']);

export async function runAgentMode(
  settings: AgentSettings,
  deps: ModeDeps,
): Promise<AgentModeResult> {
  const { runtime } = deps;
  const config = await readConfigFile(settings.runner.workspace);
  const plan = requireRunnable(await loadPlan(deps, settings), settings.planFile);
  const task = findTask(plan, settings.task);
  const root = await findRepoRoot(settings.runner.workspace);
  const repo = await inspectRepo(root);
  const baseRef = repo.branch ?? settings.runner.ref ?? repo.headSha;
  const waitingFor = task.dependsOn.filter(
    (id) => !FINISHED.has(plan.tasks.find((t) => t.id === id)?.status ?? ''),
  );
  if (settings.dryRun || waitingFor.length > 0) {
    const reason = settings.dryRun
      ? 'dry run: the agent was not started'
      : `waits for ${waitingFor.join(', ')}, not done in the checked-out plan (each run is one wave: dependencies must be integrated first)`;
    runtime.logger.info('task not started', { task: task.id, reason });
    runtime.setOutput('status', 'blocked');
    runtime.setOutput('branch', '');
    await runtime.writeSummary(
      `## parallel-executor: task ${mdText(task.id)}\n\nNot started: ${mdText(reason)}.\n`,
    );
    if (!settings.dryRun)
      throw new UsageError(`task ${task.id} ${reason}`, 'Run the tasks it depends on first.');
    return { status: 'blocked', task: null };
  }

  const { runner, agentEnv, stepEnv } = legAgent(settings, config, deps, root);
  runtime.logger.info('running the agent', {
    task: task.id,
    agent: runner.kind,
    base: repo.headSha,
  });
  const leg = await runAgentLeg({
    root,
    executionId: settings.executionId,
    plan,
    planFile: settings.planFile,
    task,
    baseRef,
    baseSha: repo.headSha,
    config,
    runner,
    agentEnv,
    checksEnv: stepEnv,
    logger: runtime.logger,
    clock: deps.clock,
    onEvent: (event) => logEvent(runtime, event),
  });
  const status: LegStatus = leg.run.status === 'completed' ? 'completed' : 'failed';
  const reason = leg.run.reason ?? (status === 'failed' ? `ended ${leg.run.status}` : null);
  const file = await writeTaskBundle({
    root,
    executionId: settings.executionId,
    run: leg.run,
    baseSha: repo.headSha,
    status,
    reason,
    bundleDir: settings.bundleDir,
    identity: DEFAULT_IDENTITY,
    logger: runtime.logger,
  });
  runtime.setOutput('status', status);
  runtime.setOutput('branch', file.branch);
  await runtime.writeSummary(legSummary(file));
  if (status !== 'completed') {
    runtime.setFailed(`task ${task.id} failed: ${reason ?? 'see the log'}`);
  }
  return { status, task: file };
}

/**
 * The leg's agent: its kind's key and no other (codex: `openai-api-key` only), Claude Code's other
 * credentials (OAuth, Bedrock, Vertex) for Claude Code alone; the checks get neither.
 */
export function legAgent(
  settings: AgentSettings | RepairSettings,
  config: Config,
  deps: ModeDeps,
  root: string,
): { runner: AgentRunner; agentEnv: Record<string, string>; stepEnv: Record<string, string> } {
  const stepEnv = untrustedEnvironment(deps.env);
  const kind = AGENT_KINDS[settings.agent];
  // The agent gets its own kind's key and no other (codex: `openai-api-key` only).
  const keys = {
    'anthropic-api-key': settings.anthropicApiKey,
    'openai-api-key': settings.openAiApiKey,
  };
  const agentEnv = {
    ...withApiKey(stepEnv, kind, kind.apiKeyInput === null ? null : keys[kind.apiKeyInput]),
    // Claude Code's other credentials (OAuth, Bedrock, Vertex); a codex leg gets none of them.
    ...(settings.agent === 'codex' ? {} : settings.credentials),
  };
  const runner = createAgentRunner(agentSettings(settings, config), { env: agentEnv, cwd: root });
  return { runner, agentEnv, stepEnv };
}

export function findTask(plan: Plan, id: string): Task {
  const task = plan.tasks.find((t) => t.id === id);
  if (task) return task;
  throw new UsageError(
    `the plan has no task ${id}`,
    'The matrix comes from the plan job; check that every job checks out the same commit.',
  );
}

/**
 * The `agent` input picks the adapter; the config supplies the rest (tools, model, binary, grace),
 * and each Claude Code input given wins over its config field.
 */
function agentSettings(settings: AgentSettings | RepairSettings, config: Config): RunnerSettings {
  const given = Object.fromEntries(
    Object.entries(settings.agentOptions).filter(([, value]) => value !== undefined),
  );
  return {
    kind: settings.agent,
    command: settings.agentCommand ?? config.agent.command,
    ...agentOptionsFromConfig(config.agent),
    ...given,
    graceMs: parseDurationMs(
      config.timeouts.grace,
      '.github/parallel-executor.yml: timeouts.grace',
    ),
  };
}

/**
 * Progress into the job log. The agent's own lines are indented: a line it prints that starts with
 * `::` would otherwise be read by the runner as a workflow command.
 */
function logEvent(runtime: ModeDeps['runtime'], event: ExecutionEvent): void {
  if (event.type === 'task-output') {
    runtime.logger.info(`  │ ${event.line.replace(/\r/g, '')}`);
  } else if (event.type === 'task-status') {
    runtime.logger.info('task status', { status: event.status, reason: event.reason });
  } else if (event.type === 'task-retry') {
    runtime.logger.warn('agent failed; retrying', { attempt: event.attempt, reason: event.reason });
  }
}

function legSummary(file: TaskFile): string {
  const validation = file.run.validation;
  const lines = [
    `## parallel-executor: task ${mdText(file.task_id)} — ${file.status}`,
    '',
    `- Branch: ${mdCode(file.branch)} (${file.bundle ? `${file.head_sha.slice(0, 7)}, bundled` : 'no commit beyond the base'})`,
    `- Attempts: ${file.attempts}`,
    ...(file.reason ? [`- Reason: ${mdText(file.reason)}`] : []),
    ...(validation ? [`- Validation: ${validation.status}`] : []),
    ...(file.run.metrics
      ? [
          `- Changes: ${file.run.metrics.files_modified} file(s), +${file.run.metrics.lines_added} −${file.run.metrics.lines_removed}`,
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}
