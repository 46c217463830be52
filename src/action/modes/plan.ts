/**
 * Plan mode (the workflow's first job): check who asked, parse and validate the plan (problems
 * become annotations on the plan's lines), pick this run's wave, and hand the matrix and the
 * execution id to the next jobs. One queued check run per task when the token may create them.
 */
import { randomBytes } from 'node:crypto';
import { mdCode, mdText, mdTable } from '../../engine/report/markdown.js';
import { table } from '../markdown.js';
import { UsageError } from '../../engine/errors.js';
import type { Diagnostic, Task } from '../../engine/plan/schema.js';
import { taskCheckName } from '../../forge/check-names.js';
import { GitHubApiError } from '../../forge/errors.js';
import type { RepoForge, WorkflowRunInfo } from '../../forge/types.js';
import { git } from '../../engine/workspace/git-exec.js';
import { busyReply, findRunningExecution } from '../busy.js';
import { readTriggerEvent } from '../event.js';
import { gateTrigger } from '../gate.js';
import { selectTasks, WAVE_SELECTION, type Selection } from '../../engine/schedule/select.js';
import { matrixJson } from '../select.js';
import { readConfigFile } from '../../engine/config/load.js';
import { statusOnlyPush } from '../status-push.js';
import { loadPlan } from '../repo-files.js';
import type { PlanSettings, RunnerContext } from '../settings.js';
import { pullRequestOf, targetBranch } from '../target.js';
import { runningWorkflow, workflowFile } from '../workflow-ref.js';
import type { ModeDeps } from './types.js';

export interface PlanModeResult {
  executionId: string | null;
  tasks: string[];
  refused: string | null;
}

export async function runPlanMode(settings: PlanSettings, deps: ModeDeps): Promise<PlanModeResult> {
  const { runtime } = deps;
  const config = await readConfigFile(settings.runner.workspace);
  const event = await readTriggerEvent(settings.runner.eventName, settings.runner.eventPath);
  const gate = await gateTrigger(event, deps.forge, { allowBots: config.github.allowBots });
  if (!gate.allowed) return startNothing(runtime, gate.reason);
  const dryRun = settings.dryRun || gate.dryRun;
  const running = await runningElsewhere(
    settings,
    deps,
    gate.pullRequest ?? pullRequestOf(settings.pullRequest, event),
    dryRun,
    // The gate found the commenter can write: not asked again for their other runs.
    event.kind === 'comment' ? [event.author] : [],
  );
  if (running) {
    await deps.forge!.createComment(running.pullRequest, busyReply(running.run));
    return startNothing(
      runtime,
      `another execution is running on pull request #${running.pullRequest} (${running.run.url})`,
    );
  }
  const group = settings.group ?? gate.group;
  const { plan, diagnostics } = await loadPlan(deps, settings);
  annotate(runtime, settings.planFile, diagnostics);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    await runtime.writeSummary(diagnosticsSummary(settings.planFile, diagnostics));
    throw new UsageError(
      `${settings.planFile} has ${errors.length} error${errors.length === 1 ? '' : 's'}; the first: line ${errors[0]!.line}: ${errors[0]!.message}`,
      'Each problem is annotated on its line of the plan (Files changed / the job summary).',
    );
  }
  const noNewWork = await statusOnlyPush(event, plan, settings, deps);
  if (noNewWork !== null) return startNothing(runtime, noNewWork);
  const wave = selectTasks(plan, { group, tasks: settings.tasks }, WAVE_SELECTION);
  const executionId = settings.executionId ?? makeExecutionId(settings.runner);
  // A dry run shows what would run and starts nothing: no matrix legs, no check runs.
  const legs = dryRun ? [] : wave.ready;
  const sha =
    (await checkedOutSha(settings.runner.workspace)) ?? gate.headSha ?? settings.runner.sha;
  const baseBranch = settings.appManaged
    ? null
    : await targetBranch({
        input: settings.baseBranch ?? gate.headRef,
        pullRequest: gate.pullRequest === null ? pullRequestOf(settings.pullRequest, event) : null,
        forge: deps.forge,
        runner: settings.runner,
        avoid: `${config.integration.branchPrefix}${executionId}`,
      });
  setOutputs(runtime, {
    matrix: matrixJson(legs),
    executionId,
    taskCount: legs.length,
    maxParallel: config.github.maxParallel ?? Math.max(1, legs.length),
    sha: sha ?? '',
    baseBranch: baseBranch ?? '',
    group: group ?? '',
  });
  const headSha = gate.headSha ?? sha;
  // With the app installed, it owns the check runs (and names them its own way).
  if (deps.forge && headSha && legs.length > 0 && !settings.appManaged) {
    await createTaskCheckRuns(deps.forge, legs, headSha, executionId, runtime);
  }
  await runtime.writeSummary(waveSummary(executionId, wave, dryRun, settings.tasks));
  return { executionId, tasks: legs.map((t) => t.id), refused: null };
}

/** No matrix, no execution id: the later jobs skip themselves. */
async function startNothing(runtime: ModeDeps['runtime'], reason: string): Promise<PlanModeResult> {
  runtime.logger.info('no run started', { reason });
  setOutputs(runtime, {
    matrix: matrixJson([]),
    executionId: '',
    taskCount: 0,
    maxParallel: 1,
    sha: '',
    baseBranch: '',
    group: '',
  });
  await runtime.writeSummary(`## parallel-executor\n\nNo run started: ${mdText(reason)}.\n`);
  return { executionId: null, tasks: [], refused: reason };
}

/**
 * A new execution for a PR while another runs there would race it (two integration branches, two
 * reports): find the other one. Continuations (`execution-id` given: a next wave), app-managed runs
 * (the app keeps its own lock) and dry runs (they start nothing) do not look.
 */
async function runningElsewhere(
  settings: PlanSettings,
  deps: ModeDeps,
  pullRequest: number | null,
  dryRun: boolean,
  writers: readonly string[],
): Promise<{ pullRequest: number; run: WorkflowRunInfo } | null> {
  if (!deps.forge || pullRequest === null || dryRun) return null;
  if (settings.appManaged || settings.executionId !== null) return null;
  const workflow = runningWorkflow(settings.runner);
  const runId = Number(settings.runner.runId);
  if (workflow === null || !Number.isSafeInteger(runId) || runId <= 0) {
    deps.runtime.logger.warn(
      'cannot tell which workflow runs this job; not checking for a running execution',
      {
        workflowRef: settings.runner.workflowRef,
      },
    );
    return null;
  }
  const run = await findRunningExecution(deps.forge, {
    workflow: workflowFile(workflow),
    pullRequest,
    runId,
    writers,
  });
  return run ? { pullRequest, run } : null;
}

/** The commit the job checked out: the one every later job of the run must use too. */
async function checkedOutSha(workspace: string): Promise<string | null> {
  const head = await git(workspace, ['rev-parse', '--verify', '--quiet', 'HEAD'], {
    allowExitCodes: [1, 128],
  }).catch(() => null);
  return head && head.exitCode === 0 ? head.stdout.trim() : null;
}

function annotate(runtime: ModeDeps['runtime'], file: string, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    runtime.annotate(
      d.severity === 'error' ? 'error' : 'warning',
      d.hint ? `${d.message} — ${d.hint}` : d.message,
      {
        file,
        startLine: d.line,
        startColumn: d.column,
        title: `plan: ${d.code}`,
      },
    );
  }
}

function setOutputs(
  runtime: ModeDeps['runtime'],
  values: {
    matrix: string;
    executionId: string;
    taskCount: number;
    maxParallel: number;
    sha: string;
    baseBranch: string;
    group: string;
  },
): void {
  runtime.setOutput('matrix', values.matrix);
  runtime.setOutput('execution-id', values.executionId);
  runtime.setOutput('task-count', String(values.taskCount));
  runtime.setOutput('max-parallel', String(values.maxParallel));
  runtime.setOutput('sha', values.sha);
  runtime.setOutput('base-branch', values.baseBranch);
  // The group a comment asked for (`/parallel-run 2`): the integrate job selects with it too.
  runtime.setOutput('group', values.group);
}

/** `pe-<run id>-<attempt>` on a runner (re-runs get their own), random elsewhere. */
export function makeExecutionId(runner: RunnerContext): string {
  if (runner.runId) return `pe-${runner.runId}-${runner.runAttempt ?? '1'}`;
  return `pe-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

async function createTaskCheckRuns(
  forge: RepoForge,
  tasks: Task[],
  headSha: string,
  executionId: string,
  runtime: ModeDeps['runtime'],
): Promise<void> {
  for (const task of tasks) {
    try {
      await forge.createCheckRun({
        name: taskCheckName(task),
        headSha,
        status: 'queued',
        externalId: `${executionId}:${task.id}`,
        output: {
          title: `Queued: ${task.title}`.slice(0, 250),
          summary: `Task ${task.id} waits for a runner.`,
        },
      });
    } catch (error) {
      // A token without `checks: write` still runs everything; only the Checks tab stays empty.
      if (error instanceof GitHubApiError && error.status === 403) {
        runtime.logger.warn('cannot create check runs with this token; continuing without them', {
          status: error.status,
        });
        return;
      }
      throw error;
    }
  }
}

function diagnosticsSummary(file: string, diagnostics: Diagnostic[]): string {
  const rows = diagnostics.map((d) => [
    d.severity,
    mdCode(`${file}:${d.line}:${d.column}`),
    mdCode(d.code),
    mdText(d.message, 500),
    mdText(d.hint ?? '', 500),
  ]);
  return `## parallel-executor: the plan cannot run\n\n${mdTable(['', 'where', 'code', 'problem', 'what to do'], rows).join('\n')}\n`;
}

function waveSummary(
  executionId: string,
  wave: Selection,
  dryRun: boolean,
  tasks: string[] | null,
): string {
  const selection =
    tasks !== null
      ? `tasks ${mdText(tasks.join(', '))}`
      : wave.group === 'all'
        ? 'every pending task'
        : `group ${mdText(wave.group)}`;
  const parts = [
    `## parallel-executor: execution ${mdCode(executionId)}${dryRun ? ' — dry run, nothing started' : ''}`,
    '',
    `Selection: ${selection}. ` +
      `This run: ${wave.ready.length} task(s); waiting for others: ${wave.waiting.length}; not run: ${wave.left.length}.`,
  ];
  if (wave.ready.length > 0) {
    parts.push(
      '',
      table(
        ['task', 'title', 'agent', 'depends on', 'estimate'],
        wave.ready.map((t) => [
          t.id,
          t.title,
          t.agents[0] ?? '',
          t.dependsOn.join(', ') || '—',
          t.estimateHours === null ? '—' : `${t.estimateHours} h`,
        ]),
      ),
    );
  }
  if (wave.waiting.length > 0) {
    parts.push(
      '',
      table(
        ['waiting task', 'waits for'],
        wave.waiting.map((w) => [w.task.id, w.on.join(', ')]),
      ),
    );
  }
  const notRun = wave.left.filter((l) => l.task.status !== 'completed');
  if (notRun.length > 0) {
    parts.push(
      '',
      table(
        ['not run', 'why'],
        notRun.map((l) => [l.task.id, l.reason]),
      ),
    );
  }
  return `${parts.join('\n')}\n`;
}
