import type { Config } from '../engine/config/schema.js';
import { UsageError } from '../engine/errors.js';
import { reportPathOf } from '../engine/finish/report-step.js';
import type { FinishSettings, WriteBackMode } from '../engine/finish/settings.js';
import type { ExecutionSettings } from '../engine/run/settings.js';

/** The flags of `run` (and `resume`) that decide how an execution is finished. */
export interface FinishFlags {
  'merge-strategy'?: string;
  'detect-conflicts'?: boolean;
  'no-detect-conflicts'?: boolean;
  'write-back'?: string;
  'no-write-back'?: boolean;
  'repair-attempts'?: string;
}

export const FINISH_FLAG_OPTIONS = {
  'merge-strategy': { type: 'string' },
  'detect-conflicts': { type: 'boolean' },
  'no-detect-conflicts': { type: 'boolean' },
  'write-back': { type: 'string' },
  'no-write-back': { type: 'boolean' },
  'repair-attempts': { type: 'string' },
} as const;

/** What the user chose; kept in the execution's run.json so `resume` finishes the same way. */
export interface FinishChoices {
  strategy: Config['integration']['strategy'];
  detectConflicts: boolean;
  writeBack: WriteBackMode;
  /** `--repair-attempts`; absent: the config's, else the agent kind's default. */
  repairAttempts?: number;
}

const STRATEGIES = ['batch-bisect', 'serial'] as const;
const WRITE_BACK = ['integration-branch', 'working-tree', 'none'] as const;

/** Flags over what an earlier start of the execution chose, over the config. */
export function finishChoices(
  config: Config,
  flags: FinishFlags,
  previous: Partial<FinishChoices> | null = null,
): FinishChoices {
  return {
    strategy:
      strategyFlag(flags['merge-strategy']) ?? previous?.strategy ?? config.integration.strategy,
    detectConflicts:
      pairFlag(flags, 'detect-conflicts', 'no-detect-conflicts') ??
      previous?.detectConflicts ??
      config.integration.detectConflicts,
    writeBack: writeBackFlag(flags) ?? previous?.writeBack ?? config.report.writeBack,
    repairAttempts: repairFlag(flags['repair-attempts']) ?? previous?.repairAttempts,
  };
}

/**
 * How many times a task left out is handed back to its agent: the flag, else the config's
 * `integration.repair.attempts`, else 1 for agents that can reason about a conflict (claude-code,
 * codex) and 0 for a command, which is the user's own script and may not know `PE_REPAIR`.
 */
export function repairSettings(
  config: Config,
  choices: FinishChoices,
  agentKind: string,
): NonNullable<Config['integration']['repair']> {
  const configured = config.integration.repair;
  const attempts =
    choices.repairAttempts ?? configured?.attempts ?? (agentKind === 'command' ? 0 : 1);
  return { attempts, on: configured?.on ?? ['conflict', 'tests', 'validation'] };
}

export function finishSettings(
  config: Config,
  choices: FinishChoices,
  settings: ExecutionSettings,
  agentKind: string,
): FinishSettings {
  // Fails now, before any agent runs, on a report folder outside the repository.
  reportPathOf(config.report.dir, 'check');
  return {
    validation: config.validation,
    integration: {
      ...config.integration,
      strategy: choices.strategy,
      detectConflicts: choices.detectConflicts,
      repair: repairSettings(config, choices, agentKind),
    },
    report: { ...config.report, writeBack: choices.writeBack },
    setupCommand: settings.setupCommand,
    identity: settings.identity,
    // A hung test suite must not hold the run forever: each check gets the task's limit.
    checkTimeoutMs: settings.taskTimeoutMs,
    pool: settings.pool,
  };
}

function strategyFlag(value: string | undefined): FinishChoices['strategy'] | undefined {
  if (value === undefined) return undefined;
  const found = STRATEGIES.find((strategy) => strategy === value);
  if (found !== undefined) return found;
  throw new UsageError(
    `--merge-strategy: "${value}" is not a strategy`,
    'Use --merge-strategy batch-bisect (the default) or --merge-strategy serial.',
  );
}

function repairFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) {
    throw new UsageError(
      `--repair-attempts: "${value}" is not a whole number`,
      'Use --repair-attempts 0 (no repair), 1 (the default for claude-code) or more.',
    );
  }
  return Number(value);
}

function pairFlag(flags: FinishFlags, yes: 'detect-conflicts', no: 'no-detect-conflicts') {
  if (flags[yes] && flags[no]) throw new UsageError(`--${yes} and --${no} contradict each other`);
  if (flags[yes]) return true;
  if (flags[no]) return false;
  return undefined;
}

function writeBackFlag(flags: FinishFlags): WriteBackMode | undefined {
  const value = flags['write-back'];
  if (flags['no-write-back']) {
    if (value !== undefined)
      throw new UsageError('--write-back and --no-write-back contradict each other');
    return 'none';
  }
  if (value === undefined) return undefined;
  const found = WRITE_BACK.find((mode) => mode === value);
  if (found !== undefined) return found;
  throw new UsageError(
    `--write-back: "${value}" is not a write-back mode`,
    'Use --write-back integration-branch (the default), --write-back working-tree, or --no-write-back.',
  );
}
