import type { AgentSettings } from '../agents/create-runner.js';
import { CONFIG_PATH, type Config } from '../config/schema.js';
import { parseDurationMs } from './duration.js';
import { budgetLimits } from './budget.js';
import type { ExecutionSettings } from './settings.js';

/**
 * The execution settings `.github/parallel-executor.yml` sets; every shell reads them the same way
 * and puts only what its own inputs give (flags, a one-task leg) on top.
 */
export function settingsFromConfig(config: Config): Partial<ExecutionSettings> {
  const where = (key: string) => `${CONFIG_PATH}: ${key}`;
  return {
    concurrency: config.concurrency ?? null,
    taskTimeoutMs: parseDurationMs(config.timeouts.task, where('timeouts.task')),
    idleTimeoutMs: parseDurationMs(config.timeouts.idle, where('timeouts.idle')),
    graceMs: parseDurationMs(config.timeouts.grace, where('timeouts.grace')),
    retries: config.retries,
    worktreeRoot: config.workspace.root ?? null,
    pool: config.workspace.pool,
    replicate: config.workspace.replicate,
    setupCommand: config.workspace.setup ?? null,
    minFreeDiskMb: config.workspace.minFreeDiskMb,
    requiredEnv: config.workspace.requiredEnv,
    portBase: config.workspace.portBase,
    portsPerAgent: config.workspace.portsPerAgent,
    budget: budgetLimits(config.budget ?? {}, (key) => where(`budget.${key}`)),
  };
}

/**
 * The agent settings `agent:` in `.github/parallel-executor.yml` gives, besides the kind and the
 * command (which flags and inputs may override). A JSON object for `mcpConfig` or `settings` is
 * passed to the CLI as JSON text.
 */
export function agentOptionsFromConfig(
  agent: Config['agent'],
): Omit<AgentSettings, 'kind' | 'command' | 'graceMs'> {
  const json = (value: string | Record<string, unknown> | undefined) =>
    value === undefined || typeof value === 'string' ? value : JSON.stringify(value);
  return {
    allowedTools: agent.allowedTools,
    model: agent.model,
    binary: agent.binary,
    fallbackModel: agent.fallbackModel,
    maxTurns: agent.maxTurns,
    disallowedTools: agent.disallowedTools,
    appendSystemPrompt: agent.appendSystemPrompt,
    permissionMode: agent.permissionMode,
    mcpConfig: json(agent.mcpConfig),
    settings: json(agent.settings),
    extraArgs: agent.extraArgs,
    env: agent.env,
    codexConfig: agent.codex?.config,
  };
}
