/**
 * The workflow run ended: settle every task check run (from the jobs, and from the execution state
 * the integrate job uploaded), open or update the integration PR with the app's token (so CI runs
 * on it), post the report, commit the plan's status to the PR branch when the config allows,
 * conclude the summary check run and draw the dashboard one last time. Running it twice is
 * harmless: a concluded summary check run means it already ran.
 */
import type { Config } from '../../engine/config/schema.js';
import type { CheckRunInput } from '../../engine/ports/forge.js';
import { ExecutionState } from '../../engine/monitor/state.js';
import { STATE_FILE } from '../../engine/monitor/state-store.js';
import { renderReport } from '../../engine/report/render.js';
import type { Scope } from '../scope.js';
import type { ArtifactInfo, JobInfo } from '../github/app-api.js';
import {
  REPORT_ARTIFACT,
  taskIdFromJobName,
  RETRY_FAILED_ACTION,
  STATE_ARTIFACT,
  REPORT_FILE,
  reportMarkerKey,
} from './names.js';
import type { RecordedTask } from './record.js';
import { writeDashboard } from './refresh.js';
import type { ResolvedExecution } from './resolve.js';
import type { ExecutionPhase } from './state.js';
import { finishedSummary } from './summary.js';
import { decodeTaskData, type TaskData } from './task-data.js';
import { finalOutput, finishedOutput, jobConclusion } from './task-output.js';

type Conclusion = NonNullable<CheckRunInput['conclusion']>;

export interface EndedRun {
  id: number;
  conclusion: string | null;
  url: string | null;
}

export interface FinalizeResult {
  phase: ExecutionPhase;
  pullRequest: { number: number; url: string } | null;
  reportCommentUrl: string | null;
  planCommitted: boolean;
}

export async function finalizeExecution(
  scope: Scope,
  execution: ResolvedExecution,
  run: EndedRun,
  config: Config | null,
): Promise<FinalizeResult | null> {
  const { record } = execution;
  if (execution.summary.status === 'completed') return null;
  scope.deps.coalescer.discard(record.execution);
  const now = scope.deps.clock.now().toISOString();
  const jobs = latestJobs(await scope.api.listRunJobs(run.id));
  const artifacts = await scope.api.listRunArtifacts(run.id);
  const loaded = await loadState(scope, artifacts);
  const state = loaded?.state ?? null;

  const conclusions = new Map<string, Conclusion>();
  for (const task of record.tasks) {
    const check = execution.checks.get(task.id);
    if (!check) continue;
    const job = jobs.get(task.id) ?? null;
    const known = decodeTaskData(check.outputSummary);
    const data: TaskData = {
      startedAt: known.startedAt ?? job?.startedAt ?? null,
      finishedAt: known.finishedAt ?? job?.completedAt ?? (job ? now : null),
      jobUrl: known.jobUrl ?? job?.url ?? null,
    };
    const taskRun = state?.tasks[task.id];
    const artifact = artifacts.find((a) => a.name === `agent-${task.id}`) ?? null;
    let update: Partial<CheckRunInput>;
    if (taskRun) {
      const final = finalOutput(task, data, taskRun, state?.integration ?? null, {
        artifactUrl: artifact?.url ?? null,
      });
      update = { status: 'completed', conclusion: final.conclusion, output: final.output };
    } else if (check.status === 'completed') {
      conclusions.set(task.id, (check.conclusion as Conclusion | null) ?? 'failure');
      continue;
    } else {
      update = unreportedTask(task, data, job, run);
    }
    conclusions.set(task.id, update.conclusion ?? 'failure');
    await scope.forge.updateCheckRun(check.id, {
      ...update,
      ...(data.jobUrl ? { detailsUrl: data.jobUrl } : {}),
    });
    execution.checks.set(task.id, {
      ...check,
      status: 'completed',
      conclusion: update.conclusion ?? 'failure',
      outputTitle: update.output?.title ?? check.outputTitle,
      outputSummary: update.output?.summary ?? check.outputSummary,
    });
  }

  const phase: ExecutionPhase =
    run.conclusion === 'cancelled'
      ? 'cancelled'
      : [...conclusions.values()].every((c) => c === 'success' || c === 'skipped') &&
          run.conclusion === 'success'
        ? 'completed'
        : 'failed';

  const integration = state?.integration ?? null;
  let pullRequest: FinalizeResult['pullRequest'] = null;
  if (integration && integration.merged.length > 0) {
    pullRequest = await scope.forge.upsertPullRequest({
      head: integration.branch,
      base: record.ref,
      title: `parallel-executor: ${record.planTitle ?? record.plan} (${record.group === 'all' ? 'all groups' : `group ${record.group}`})`,
      body: pullRequestBody(record.execution, record.pr, integration.merged, run.url),
    });
  }

  let reportCommentUrl: string | null = null;
  if (record.pr !== null) {
    const report = state
      ? renderReport(state, { now: scope.deps.clock.now() })
      : (loaded?.report ?? noReport(run));
    const links = [
      run.url ? `[Workflow run](${run.url})` : null,
      pullRequest ? `Integration PR #${pullRequest.number}` : null,
    ].filter(Boolean);
    const posted = await scope.forge.upsertComment(
      record.pr,
      reportMarkerKey(record.execution),
      `${report.trimEnd()}\n\n<sub>Execution \`${record.execution}\`${links.length ? ` · ${links.join(' · ')}` : ''}</sub>`,
    );
    reportCommentUrl = posted.url;
  }

  const planCommitted =
    config?.github.writeBackToPr === true && record.pr !== null && integration !== null
      ? await writeBackPlan(scope, execution, integration.branch)
      : false;

  const failed = [...conclusions.entries()].filter(([, c]) => c !== 'success' && c !== 'skipped');
  await scope.forge.updateCheckRun(execution.summary.id, {
    status: 'completed',
    conclusion: phase === 'completed' ? 'success' : phase === 'cancelled' ? 'cancelled' : 'failure',
    output: finishedSummary(record, {
      title: summaryTitle(conclusions, phase),
      text: summaryText(record.tasks, conclusions, {
        run,
        pullRequest,
        reportCommentUrl,
        planCommitted,
      }),
    }),
    ...(failed.length > 0 && phase !== 'cancelled'
      ? { actions: [RETRY_FAILED_ACTION] }
      : { actions: [] }),
  });
  execution.summary = { ...execution.summary, status: 'completed' };

  await writeDashboard(scope, execution, {
    phase,
    finishedAt: now,
    note:
      [
        pullRequest ? `➡️ Integration PR: ${pullRequest.url}` : null,
        reportCommentUrl ? `📄 [Execution report](${reportCommentUrl})` : null,
        planCommitted ? `📝 Plan status committed to \`${record.ref}\`.` : null,
      ]
        .filter(Boolean)
        .join(' · ') || null,
  });
  return { phase, pullRequest, reportCommentUrl, planCommitted };
}

/** A task no event settled: its job's result, or why it never ran. */
function unreportedTask(
  task: RecordedTask,
  data: TaskData,
  job: JobInfo | null,
  run: EndedRun,
): Partial<CheckRunInput> {
  if (job && job.status === 'completed') {
    const conclusion = jobConclusion(job.conclusion);
    return { status: 'completed', conclusion, output: finishedOutput(task, data, conclusion) };
  }
  if (run.conclusion === 'cancelled') {
    return {
      status: 'completed',
      conclusion: 'cancelled',
      output: {
        title: 'Cancelled',
        summary: `The workflow run was cancelled before task ${task.id} finished.`,
      },
    };
  }
  if (!job) {
    // One workflow run runs one wave; tasks waiting for others are started by a later run.
    return {
      status: 'completed',
      conclusion: 'skipped',
      output: {
        title: 'Not run in this wave',
        summary: `Task ${task.id} waits for tasks it depends on; comment \`/parallel-run\` again to run the next wave.`,
      },
    };
  }
  return {
    status: 'completed',
    conclusion: 'failure',
    output: {
      title: 'Did not finish',
      summary: `The job of task ${task.id} did not finish (${job.status}).`,
    },
  };
}

function latestJobs(jobs: JobInfo[]): Map<string, JobInfo> {
  const byTask = new Map<string, JobInfo>();
  for (const job of jobs) {
    const taskId = taskIdFromJobName(job.name);
    if (taskId !== null) byTask.set(taskId, job);
  }
  return byTask;
}

async function loadState(
  scope: Scope,
  artifacts: ArtifactInfo[],
): Promise<{ state: ExecutionState | null; report: string | null } | null> {
  const found = [STATE_ARTIFACT, REPORT_ARTIFACT]
    .map((name) => artifacts.find((a) => a.name === name && !a.expired))
    .filter((a): a is ArtifactInfo => a !== undefined);
  if (found.length === 0) return null;
  let state: ExecutionState | null = null;
  let report: string | null = null;
  for (const artifact of found) {
    const files = await scope.api.downloadArtifact(artifact.id);
    for (const [name, content] of files) {
      const base = name.split('/').pop() ?? name;
      if (state === null && base.endsWith('.json')) state = parseState(scope, base, content);
      if (report === null && (base === REPORT_FILE || base.endsWith('.md')))
        report = content.toString('utf8');
    }
    if (state !== null) break;
  }
  return { state, report };
}

function parseState(scope: Scope, file: string, content: Buffer): ExecutionState | null {
  try {
    const parsed = ExecutionState.safeParse(JSON.parse(content.toString('utf8')));
    if (parsed.success) return parsed.data;
    if (file === STATE_FILE) {
      scope.log.warn('execution state artifact does not match the schema', {
        issue: parsed.error.issues[0]?.message,
      });
    }
  } catch {
    scope.log.warn('artifact file is not JSON', { file });
  }
  return null;
}

/**
 * The plan on the integration branch carries the statuses the integrate job wrote back; copy it
 * to the PR branch, but only if nobody changed the plan there since the execution started.
 */
async function writeBackPlan(
  scope: Scope,
  execution: ResolvedExecution,
  integrationBranch: string,
): Promise<boolean> {
  const { record } = execution;
  const [integrated, started, current] = await Promise.all([
    scope.forge.getFile(record.plan, integrationBranch),
    scope.forge.getFile(record.plan, record.sha),
    scope.forge.getFile(record.plan, record.ref),
  ]);
  if (!integrated || !current || !started) return false;
  if (current.sha !== started.sha) {
    scope.log.warn(
      'plan changed on the PR branch during the execution; not writing statuses back',
      {
        execution: record.execution,
      },
    );
    return false;
  }
  if (integrated.content === current.content) return false;
  await scope.forge.createOrUpdateFile({
    path: record.plan,
    branch: record.ref,
    content: integrated.content,
    sha: current.sha,
    message: `Update plan status after parallel execution ${record.execution}`,
  });
  return true;
}

function pullRequestBody(
  executionId: string,
  pr: number | null,
  merged: string[],
  runUrl: string | null,
): string {
  return [
    `Integration of parallel execution \`${executionId}\`${pr === null ? '' : ` started on #${pr}`}.`,
    '',
    `Merged tasks: ${merged.map((id) => `\`${id}\``).join(', ')}.`,
    ...(runUrl ? ['', `[Workflow run](${runUrl})`] : []),
  ].join('\n');
}

function summaryTitle(conclusions: Map<string, Conclusion>, phase: ExecutionPhase): string {
  const total = conclusions.size;
  const done = [...conclusions.values()].filter((c) => c === 'success').length;
  if (phase === 'cancelled') return `Cancelled (${done}/${total} tasks completed)`;
  return `${done}/${total} tasks completed${phase === 'failed' ? ', some failed' : ''}`;
}

function summaryText(
  tasks: RecordedTask[],
  conclusions: Map<string, Conclusion>,
  links: {
    run: EndedRun;
    pullRequest: FinalizeResult['pullRequest'];
    reportCommentUrl: string | null;
    planCommitted: boolean;
  },
): string {
  const icon: Record<string, string> = {
    success: '✅',
    failure: '❌',
    cancelled: '⏹️',
    skipped: '⏭️',
    timed_out: '⌛',
  };
  return [
    '| Task | Result |',
    '|---|---|',
    ...tasks.map((t) => {
      const c = conclusions.get(t.id) ?? 'failure';
      return `| ${t.id} | ${icon[c] ?? '❔'} ${c} |`;
    }),
    '',
    [
      links.run.url ? `[Workflow run](${links.run.url})` : null,
      links.pullRequest
        ? `[Integration PR #${links.pullRequest.number}](${links.pullRequest.url})`
        : null,
      links.reportCommentUrl ? `[Report](${links.reportCommentUrl})` : null,
      links.planCommitted ? 'Plan status committed to the PR branch' : null,
    ]
      .filter(Boolean)
      .join(' · '),
  ].join('\n');
}

function noReport(run: EndedRun): string {
  return [
    '# Parallel Execution Report',
    '',
    `The workflow run ended (${run.conclusion ?? 'unknown'}) without uploading the \`${STATE_ARTIFACT}\` artifact, so there is no detailed report.`,
    run.url ? `See the [workflow run](${run.url}) for its logs.` : '',
  ].join('\n');
}
