import { join } from 'node:path';
import type { IntegrationResult } from '../integrate/schema.js';
import { integrationTestCommand } from '../integrate/test-command.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import type { Logger } from '../ports/logger.js';
import type { Plan } from '../plan/schema.js';
import { interruptedRepairs, settleInterruptedRepairs } from '../repair/interrupted.js';
import { repairTasks } from '../repair/repair.js';
import type { ExecutionState } from '../state/schema.js';
import type { Notify } from './notify.js';
import type { FinishSettings } from './settings.js';

export interface RepairStepOptions {
  settings: FinishSettings;
  runner: AgentRunner;
  plan: Plan | null;
  executionDir: string;
  env: Record<string, string>;
  signal?: AbortSignal;
  logger: Logger;
  notify: Notify;
  /** Writes the state to disk (as the repairs go, so that a resume can continue them). */
  save?: () => Promise<void>;
}

const AGENT_TIME_LIMIT_MS = 60 * 60_000;

/**
 * Whether a repair may need the integration branch although no task is there to merge: a task
 * failed its validation and repairs take that kind.
 */
export function repairsFailedValidation(state: ExecutionState, settings: FinishSettings): boolean {
  const repair = settings.integration.repair;
  if (repair === undefined || repair.attempts <= 0 || !repair.on.includes('validation'))
    return false;
  return state.task_order.some((id) => {
    const run = state.tasks[id]!;
    return run.status === 'failed' && run.validation?.status === 'FAILED';
  });
}

/** Whether the settings let the repair step hand anything back to an agent. */
function repairsOn(settings: FinishSettings): boolean {
  return (settings.integration.repair?.attempts ?? 0) > 0;
}

/**
 * Mark the repairs as to be done, before the state that records the integration is written:
 * killed from then on, a resume finds `integration.repairing` and repairs (see `resumeRepairs`).
 */
export function markRepairsToDo(state: ExecutionState, settings: FinishSettings): void {
  if (state.integration !== null && repairsOn(settings))
    state.integration.repairing ??= { attempts: [] };
}

/**
 * On resume, when the state shows a repair loop that did not end (the orchestrator was killed
 * during it): what its attempts left is kept and their worktrees removed, each such task's record
 * says it was interrupted, then the repairs run again as the settings allow (an interrupted
 * attempt does not count against the limit). Without an agent to run, or with repairs now off,
 * the records say so and nothing is redone; nothing is ever called merged that did not merge.
 */
export async function resumeRepairs(
  state: ExecutionState,
  options: Omit<RepairStepOptions, 'runner'> & { runner: AgentRunner | undefined },
): Promise<void> {
  const interrupted = interruptedRepairs(state);
  if (interrupted === null) return;
  const ids = new Set(interrupted.map((entry) => entry.taskId));
  await settleInterruptedRepairs({
    state,
    executionDir: options.executionDir,
    env: options.env,
    identity: options.settings.identity,
    why: 'the orchestrator stopped',
    notify: (message, taskId) => options.notify(state, message, taskId),
  });
  await options.save?.();
  const { runner } = options;
  if (runner === undefined || !repairsOn(options.settings)) {
    const why =
      runner === undefined
        ? 'no agent to run them again'
        : 'repairs are off now (integration.repair.attempts or --repair-attempts is 0)';
    for (const record of state.integration?.repairs ?? []) {
      if (ids.has(record.taskId) && record.reason !== null)
        record.reason = `${record.reason}; not repaired again: ${why}`;
    }
    return;
  }
  options.notify(state, 'repairs: resuming the repairs the stopped orchestrator had not finished');
  markRepairsToDo(state, options.settings);
  await runRepairStep(state, { ...options, runner });
}

/**
 * After the integration: hand what it left out (and what failed its validation) back to the
 * tasks' agent, as `integration.repair` allows. The integration branch and result move forward
 * with every repair that lands. Nothing to do when repairs are off or nothing was left out.
 */
export async function runRepairStep(
  state: ExecutionState,
  options: RepairStepOptions,
): Promise<void> {
  const repair = options.settings.integration.repair;
  if (state.integration === null) return;
  const interactions = options.settings.integration.onRisk === 'repair';
  if (interactions) noteUnrepairedRisks(state.integration, (repair?.attempts ?? 0) > 0);
  if (repair === undefined || repair.attempts <= 0) {
    delete state.integration.repairing;
    return;
  }
  const { settings } = options;
  const records = await (async () =>
    repairTasks({
      state,
      plan: options.plan,
      runner: options.runner,
      attempts: repair.attempts,
      on: interactions ? [...repair.on, 'interaction'] : repair.on,
      executionDir: options.executionDir,
      env: options.env,
      identity: settings.identity,
      validation: settings.validation,
      testCommand: await integrationTestCommand(state.repo_root, settings),
      strategy: settings.integration.strategy,
      setupCommand: settings.setupCommand,
      checkTimeoutMs: settings.checkTimeoutMs,
      agentTimeoutMs: settings.checkTimeoutMs ?? AGENT_TIME_LIMIT_MS,
      graceMs: 10_000,
      signal: options.signal,
      logger: options.logger,
      notify: (message, taskId) => options.notify(state, message, taskId),
      save: options.save,
    }))().catch(async (error: unknown) => {
    // Attempts under way are kept and recorded as stopped, never left behind unnamed.
    await settleInterruptedRepairs({
      state,
      executionDir: options.executionDir,
      env: options.env,
      identity: settings.identity,
      why: `the repairs stopped (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      notify: (message, taskId) => options.notify(state, message, taskId),
    }).catch(() => undefined);
    throw error;
  });
  if (records.length === 0) return;
  const merged = records.filter((r) => r.outcome === 'merged').length;
  options.notify(
    state,
    `repairs: ${merged} of ${records.length} task(s) repaired and merged into ${state.integration.branch} (logs under ${join(options.executionDir, 'repair')})`,
  );
}

/**
 * `integration.onRisk: repair`, before the repairs: why a risk will not be repaired (a repair that
 * runs replaces the note with how it ended).
 */
function noteUnrepairedRisks(integration: IntegrationResult, on: boolean): void {
  const merged = new Set(integration.merged);
  for (const risk of integration.risks ?? []) {
    risk.note = !on
      ? 'not repaired: repairs are off (integration.repair.attempts or --repair-attempts is 0); reported only'
      : risk.tasks.every((id) => merged.has(id))
        ? 'not repaired: the repair did not run'
        : 'not repaired: one of the tasks was not merged; reported only';
  }
}
