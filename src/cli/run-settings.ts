import type { AgentSettings } from '../engine/agents/create-runner.js';
import { agentKindName } from '../engine/agents/kinds.js';
import { Config } from '../engine/config/schema.js';
import { configuredPlan, parseConfig, readConfigText } from '../engine/config/load.js';
import { locateConfig } from '../engine/config/locate.js';
import { ConfigurationError, UsageError } from '../engine/errors.js';
import { agentOptionsFromConfig } from '../engine/run/config-settings.js';
import { parseDurationMs } from '../engine/run/duration.js';
import { budgetLimits } from '../engine/run/budget.js';
import type { BudgetLimits, ExecutionSettings } from '../engine/run/settings.js';

/** The flags `run` and `resume` share; absent ones fall back to the config file, then defaults. */
export interface EngineFlags {
  agent?: string;
  'agent-command'?: string;
  concurrency?: string;
  'task-timeout'?: string;
  'idle-timeout'?: string;
  retries?: string;
  config?: string;
  'budget-usd'?: string;
  'budget-tokens'?: string;
  'budget-duration'?: string;
}

export const ENGINE_FLAG_OPTIONS = {
  agent: { type: 'string' },
  'agent-command': { type: 'string' },
  concurrency: { type: 'string' },
  'task-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  retries: { type: 'string' },
  config: { type: 'string' },
  'budget-usd': { type: 'string' },
  'budget-tokens': { type: 'string' },
  'budget-duration': { type: 'string' },
} as const;

/** `.github/parallel-executor.yml` when the repository has one, else every default. */
export async function readConfig(
  repoRoot: string,
  explicit: string | null = null,
  cwd: string = repoRoot,
): Promise<Config> {
  const location = await locateConfig(repoRoot, explicit, cwd);
  if (location === null) return Config.parse({});
  return parseConfig(await readConfigText(location, repoRoot), location.shown);
}

/** What `checkConfig` found wrong in the config file, at its absolute path. */
export interface ConfigProblems {
  file: string;
  error: ConfigurationError;
}

/**
 * `readConfig` for `validate`: the same rules, but a file with mistakes gives them all back beside
 * the defaults (and the `plan:` it names, when readable), so the plan is still checked.
 */
export async function checkConfig(
  repoRoot: string,
  explicit: string | null,
  cwd: string,
): Promise<{ config: Config; problems: ConfigProblems | null }> {
  const location = await locateConfig(repoRoot, explicit, cwd);
  if (location === null) return { config: Config.parse({}), problems: null };
  const text = await readConfigText(location, repoRoot);
  try {
    return { config: parseConfig(text, location.shown), problems: null };
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const plan = configuredPlan(text);
    return {
      config: Config.parse(plan === null ? {} : { plan }),
      problems: { file: location.absolute, error },
    };
  }
}

/**
 * `base`: the budget from the config or the resumed execution; a `--budget-*` flag replaces that
 * one limit and keeps the others (and the margin).
 */
export function settingsFromFlags(
  flags: EngineFlags,
  base: BudgetLimits | null = null,
): Partial<ExecutionSettings> {
  const settings: Partial<ExecutionSettings> = {};
  const budgetFlags = {
    usd: flags['budget-usd'],
    tokens: flags['budget-tokens'],
    duration: flags['budget-duration'],
  };
  if (Object.values(budgetFlags).some((value) => value !== undefined)) {
    settings.budget = budgetLimits(budgetFlags, (key) => `--budget-${key}`, base);
  }
  if (flags.concurrency !== undefined) {
    settings.concurrency = integerFlag('--concurrency', flags.concurrency, 1);
  }
  if (flags.retries !== undefined) settings.retries = integerFlag('--retries', flags.retries, 0);
  if (flags['task-timeout'] !== undefined) {
    settings.taskTimeoutMs = parseDurationMs(flags['task-timeout'], '--task-timeout');
  }
  if (flags['idle-timeout'] !== undefined) {
    settings.idleTimeoutMs = parseDurationMs(flags['idle-timeout'], '--idle-timeout');
  }
  return settings;
}

function integerFlag(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `${name}: "${text}" is not a whole number${min > 0 ? ` of at least ${min}` : ''}`,
    );
  }
  return value;
}

/**
 * Which agent runs the tasks: `--agent`, or `command` when only `--agent-command` is given, or the
 * config's (`claude-code` by default). `previous` is what an execution being resumed used.
 */
export function agentSettings(
  config: Config,
  flags: EngineFlags,
  graceMs: number,
  previous: Partial<AgentSettings> | null = null,
): AgentSettings {
  const kindFlag = flags.agent === undefined ? undefined : agentKindName(flags.agent, '--agent');
  const kind =
    kindFlag ??
    (flags['agent-command'] !== undefined ? 'command' : (previous?.kind ?? config.agent.kind));
  return {
    kind,
    command: flags['agent-command'] ?? previous?.command ?? config.agent.command,
    ...agentOptionsFromConfig(config.agent),
    graceMs,
  };
}

/**
 * The agents' environment: the shell's own, minus PE_* variables a parent execution may have
 * set (each agent gets its own).
 */
export function agentEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !key.startsWith('PE_')) out[key] = value;
  }
  return out;
}
