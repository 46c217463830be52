/**
 * The next wave: matrix legs cannot wait for each other, so one workflow run runs the tasks whose
 * dependencies are done. When a wave lands cleanly (`landingProblems`, the rule the app
 * follows too) and tasks of the same selection became ready, the publish job dispatches the workflow
 * again on the integration branch, with the same execution id — the next run builds on this one's
 * work and pushes the same branch further. It does not when the app manages the run (the app
 * dispatches), in a dry run, or after any failure (a person looks first).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dispatchInputNames, workflowPath } from '../../forge/workflow.js';
import { landingProblems } from '../../engine/schedule/landed.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import type { Plan } from '../../engine/plan/schema.js';
import type { RepoForge } from '../../forge/types.js';
import { selectTasks, WAVE_SELECTION } from '../../engine/schedule/select.js';
import type { PublishSettings } from '../settings.js';
import { runningWorkflow, workflowFile } from '../workflow-ref.js';
import { overLimits } from '../../engine/run/budget.js';
import type { BudgetLimits } from '../../engine/run/settings.js';
import { totalUsage, usageTokens } from '../../engine/report/usage.js';

export type NextWave =
  | { dispatched: true; tasks: string[]; workflow: string; inputs: Record<string, string> }
  | { dispatched: false; tasks: string[]; reason: string };

export interface NextWaveInput {
  forge: RepoForge | null;
  settings: Pick<
    PublishSettings,
    'group' | 'tasks' | 'appManaged' | 'dryRun' | 'runner' | 'executionId' | 'planFile'
  > & { budget?: BudgetLimits | null };
  /** The plan as written back on the integration branch (this wave's tasks marked done). */
  plan: Plan;
  state: ExecutionState;
  integrationBranch: string;
  /** Pushed: the next run can check it out. */
  pushed: boolean;
  baseBranch: string | null;
  pullRequest: number | null;
  /** `github.workflow` from the config: used when the running workflow is not known. */
  configuredWorkflow: string;
}

export async function nextWave(input: NextWaveInput): Promise<NextWave> {
  const { settings, state } = input;
  const thisWave = new Set(state.task_order);
  const ready = selectTasks(
    input.plan,
    { group: settings.group, tasks: settings.tasks },
    WAVE_SELECTION,
  )
    .ready.map((t) => t.id)
    .filter((id) => !thisWave.has(id));
  const skip = (reason: string): NextWave => ({ dispatched: false, tasks: ready, reason });
  if (ready.length === 0) return skip('no task of the selection is left to run');
  if (settings.appManaged) return skip('the GitHub App starts the next wave');
  if (settings.dryRun) return skip('dry run');
  const budget = budgetAfterWave(settings.budget ?? null, state);
  if (budget.reached !== null) {
    return skip(
      `the budget is reached (${budget.reached}): the next wave is not started; start the run again (with a new budget) to go on`,
    );
  }
  const problems = landingProblems({ state });
  if (problems.length > 0) {
    return skip(
      `this wave did not land cleanly (${problems.join('; ')}): fix it, then start the run again`,
    );
  }
  if (!input.pushed) return skip('the integration branch was not pushed');
  if (!input.forge) return skip('no github-token to dispatch with');
  const workflow = runningWorkflow(settings.runner) ?? input.configuredWorkflow;
  const declared = await declaredInputs(settings.runner.workspace, workflow);
  if (declared === null) return skip(`the workflow ${workflow} is not in the checkout`);
  const wanted: Record<string, string> = {
    'execution-id': settings.executionId,
    ref: input.integrationBranch,
    plan: settings.planFile,
    group: settings.group ?? '',
    tasks: settings.tasks?.join(',') ?? '',
    'pr-number': input.pullRequest === null ? '' : String(input.pullRequest),
    'base-branch': input.baseBranch ?? '',
    ...budget.left,
  };
  if (!declared.has('execution-id')) {
    return skip(`the workflow ${workflow} declares no execution-id input for workflow_dispatch`);
  }
  // GitHub refuses inputs a workflow does not declare; empty ones are left to its defaults.
  const inputs = Object.fromEntries(
    Object.entries(wanted).filter(([name, value]) => declared.has(name) && value !== ''),
  );
  await input.forge.dispatchWorkflow(workflowFile(workflow), input.integrationBranch, inputs);
  return { dispatched: true, tasks: ready, workflow, inputs };
}

/**
 * The budget between waves: this wave's tasks' spending (as their agents reported it) against
 * it; what is left goes to the next wave as its budget. Nothing without a budget.
 */
export function budgetAfterWave(
  budget: BudgetLimits | null,
  state: ExecutionState,
): { reached: string | null; left: Record<string, string> } {
  if (budget === null) return { reached: null, left: {} };
  const usage = totalUsage(state.task_order.flatMap((id) => state.tasks[id] ?? []));
  const spent = {
    usd: usage?.costUsd ?? 0,
    tokens: usage === null ? 0 : usageTokens(usage),
    durationMs: 0,
  };
  const reached = overLimits({ ...budget, durationMs: null }, spent, null)[0] ?? null;
  const left: Record<string, string> = {};
  if (budget.usd !== null)
    left['budget-usd'] = String(Math.round((budget.usd - spent.usd) * 1e6) / 1e6);
  if (budget.tokens !== null) left['budget-tokens'] = String(budget.tokens - spent.tokens);
  return { reached, left };
}

async function declaredInputs(workspace: string, workflow: string): Promise<Set<string> | null> {
  const text = await readFile(join(workspace, workflowPath(workflow)), 'utf8').catch(() => null);
  return text === null ? null : dispatchInputNames(text);
}
