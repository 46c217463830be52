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
    replicate: config.workspace.replicate,
    setupCommand: config.workspace.setup ?? null,
    minFreeDiskMb: config.workspace.minFreeDiskMb,
    requiredEnv: config.workspace.requiredEnv,
    portBase: config.workspace.portBase,
    portsPerAgent: config.workspace.portsPerAgent,
    budget: budgetLimits(config.budget ?? {}, (key) => where(`budget.${key}`)),
  };
}
