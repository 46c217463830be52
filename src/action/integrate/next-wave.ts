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

export type NextWave =
  | { dispatched: true; tasks: string[]; workflow: string; inputs: Record<string, string> }
  | { dispatched: false; tasks: string[]; reason: string };

export interface NextWaveInput {
  forge: RepoForge | null;
  settings: Pick<
    PublishSettings,
    'group' | 'tasks' | 'appManaged' | 'dryRun' | 'runner' | 'executionId' | 'planFile'
  >;
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

async function declaredInputs(workspace: string, workflow: string): Promise<Set<string> | null> {
  const text = await readFile(join(workspace, workflowPath(workflow)), 'utf8').catch(() => null);
  return text === null ? null : dispatchInputNames(text);
}
