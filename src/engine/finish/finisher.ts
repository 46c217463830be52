import { readFile } from 'node:fs/promises';
import { cleanupExecution, type CleanupResult } from '../cleanup/cleanup.js';
import type { IntegrationProgress } from '../integrate/schema.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import type { ExecutionState } from '../state/schema.js';
import { Plan } from '../plan/schema.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { integrationFate, needsAttention } from '../report/outcome.js';
import type { ExecutionHooks } from '../run/hooks.js';
import { executionPaths } from '../run/paths.js';
import { pathExists } from '../path-exists.js';
import { branchSha } from '../workspace/worktree.js';
import { runIntegrationStep } from './integration-step.js';
import { notifier, type Notify } from './notify.js';
import {
  markRepairsToDo,
  repairsFailedValidation,
  resumeRepairs,
  runRepairStep,
} from './repair-step.js';
import { runReportStep, type ReportOutcome } from './report-step.js';
import { cleansUpAfterReport, type FinishSettings } from './settings.js';
import { createValidationStep } from './validation-step.js';

export interface FinishOptions {
  settings: FinishSettings;
  /** The environment of the checks, the integration tests and git. */
  env: Record<string, string>;
  signal?: AbortSignal;
  clock?: Clock;
  logger?: Logger;
  /** The tasks' agent kind, for repairs (`integration.repair`); without it nothing is repaired. */
  runner?: AgentRunner;
  /** Notes on what validation, integration, the report and clean-up do (`note` events). */
  onEvent?: (event: ExecutionEvent, state: ExecutionState) => void;
}

/** What is left for a person to look at, because it explains a failure. */
export interface KeptTask {
  taskId: string;
  why: string;
  /**
   * Each null when the task never got one, or it is gone (a `clean --force` before a resume
   * removed it: its work is under the task's kept refs, its log and outputs in an archive).
   */
  worktree: string | null;
  branch: string | null;
  log: string | null;
  outputs: string | null;
}

export interface FinishOutcome {
  /** Integration could not run to its end (git failed, the setup command failed, a stop). */
  integrationError: string | null;
  report: ReportOutcome | null;
  reportError: string | null;
  /** Set after a fully integrated execution: what was archived and removed. */
  cleanup: CleanupResult | null;
  /** After a failure, nothing is cleaned: these are the tasks that explain it. */
  kept: KeptTask[];
}

export interface Finisher {
  hooks: Required<ExecutionHooks>;
  /** What the last `onAllSettled` did (null before it ran). */
  outcome(): FinishOutcome | null;
}

/**
 * The seed's Phases 4 and 5 as orchestrator hooks: validate each task as it is collected, then,
 * once every task has settled, integrate the validated work, write and commit the report with the
 * plan's statuses, and clean up after a fully integrated run (or keep what explains a failure).
 * The execution is `completed` only when every task it ran landed on the integration branch.
 */
export function createFinisher(options: FinishOptions): Finisher {
  const notify = notifier(options.onEvent);
  const validate = createValidationStep({
    settings: options.settings,
    env: options.env,
    signal: options.signal,
    notify,
  });
  let last: FinishOutcome | null = null;
  return {
    hooks: {
      onTaskCollected: validate,
      onAllSettled: async (state, save) => {
        last = await finishExecution(state, options, notify, save);
      },
    },
    outcome: () => last,
  };
}

async function finishExecution(
  state: ExecutionState,
  options: FinishOptions,
  notify: Notify,
  save: () => Promise<void> = async () => undefined,
): Promise<FinishOutcome> {
  const { settings } = options;
  const executionDir = executionPaths(state.repo_root, state.execution_id).dir;
  const outcome: FinishOutcome = {
    integrationError: null,
    report: null,
    reportError: null,
    cleanup: null,
    kept: [],
  };
  // Resumed after the integration had finished (killed during the repairs, the report or the
  // clean-up): its result is on disk and its branch holds the work; integrating again would find
  // branches gone. Repairs the state shows under way are done again (`resumeRepairs`).
  const integrated = state.integration !== null;
  const plan = await readPlanSnapshot(
    executionPaths(state.repo_root, state.execution_id).planSnapshot,
  );
  const step = {
    settings,
    executionDir,
    env: options.env,
    signal: options.signal,
    logger: options.logger ?? silentLogger,
    notify,
    // In the state file too, so `status --watch` in another terminal shows it.
    onProgress: (progress: IntegrationProgress) => {
      state.integration_progress = progress;
      options.onEvent?.({ type: 'integration-progress', progress }, state);
      void save();
    },
  };
  // A repair that cannot run leaves the integration as it was, never undoes it.
  const repairsFailed = (error: unknown) =>
    notify(state, `repairs did not finish: ${message(error)}`);
  try {
    if (!integrated) {
      const evenIfEmpty = options.runner !== undefined && repairsFailedValidation(state, settings);
      state.integration = await runIntegrationStep(state, { ...step, evenIfEmpty });
      if (options.runner !== undefined && state.integration !== null) {
        // On disk with the repairs marked as to do: killed during them, resume does them again.
        markRepairsToDo(state, settings);
        await save();
        await runRepairStep(state, { ...step, runner: options.runner, plan, save }).catch(
          repairsFailed,
        );
      }
    } else {
      await resumeRepairs(state, { ...step, runner: options.runner, plan, save }).catch(
        repairsFailed,
      );
    }
    // On disk before anything is cleaned up: killed from here on, resume knows the work landed.
    await save();
  } catch (error) {
    state.integration = null;
    outcome.integrationError = options.signal?.aborted
      ? 'stopped by the user during integration'
      : message(error);
    notify(state, `integration did not finish: ${outcome.integrationError}`);
  }
  state.status =
    everyTaskLanded(state) && outcome.integrationError === null ? 'completed' : 'failed';
  state.finished_at = (options.clock ?? systemClock).now().toISOString();
  try {
    outcome.report = await runReportStep(state, {
      settings,
      executionDir,
      plan,
      env: options.env,
      notify,
    });
    state.report_path = outcome.report.file;
    state.report_commit = outcome.report.commit;
  } catch (error) {
    outcome.reportError = message(error);
    notify(state, `the report could not be written: ${outcome.reportError}`);
  }
  if (cleansUpAfterReport(state, settings)) {
    outcome.cleanup = await cleanupExecution(state, {
      repoRoot: state.repo_root,
      executionDir,
      env: options.env,
      identity: settings.identity,
      ...(settings.pool === undefined ? {} : { pool: settings.pool }),
    });
    const removed = outcome.cleanup.items.filter((item) => item.action === 'removed').length;
    notify(
      state,
      `clean-up: ${outcome.cleanup.archives.filter((a) => a.archive !== null).length} archive(s), ${removed} item(s) removed${outcome.cleanup.errors > 0 ? `, ${outcome.cleanup.errors} error(s)` : ''}`,
    );
  } else {
    outcome.kept = await keptTasks(state);
  }
  return outcome;
}

/** Every task it ran is on the integration branch, and the integrated tests do not fail. */
export function everyTaskLanded(state: ExecutionState): boolean {
  const integration = state.integration;
  if (integration === null) return state.task_order.length === 0;
  if (integration.testsPassed === false) return false;
  const merged = new Set(integration.merged);
  return state.task_order.every((id) => merged.has(id));
}

async function keptTasks(state: ExecutionState): Promise<KeptTask[]> {
  const kept: KeptTask[] = [];
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    if (!needsAttention(run, state.integration)) continue;
    const fate = integrationFate(id, state.integration);
    const why =
      fate.kind === 'conflict'
        ? `merge conflict${fate.with.length > 0 ? ` with ${fate.with.join(', ')}` : ''} in ${fate.files.join(', ')}`
        : fate.kind === 'dropped'
          ? fate.reason
          : (run.reason ?? run.status);
    kept.push({
      taskId: id,
      why,
      worktree: (await pathExists(run.worktree)) ? run.worktree : null,
      branch: (await branchSha(state.repo_root, run.branch)) === null ? null : run.branch,
      log: (await pathExists(run.log_file)) ? run.log_file : null,
      outputs: (await pathExists(run.output_dir)) ? run.output_dir : null,
    });
  }
  return kept;
}

async function readPlanSnapshot(file: string): Promise<Plan | null> {
  try {
    return Plan.parse(JSON.parse(await readFile(file, 'utf8')));
  } catch {
    return null;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
