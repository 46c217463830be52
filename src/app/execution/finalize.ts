/**
 * A wave's workflow run ended: settle the check runs of the tasks it ran (from the jobs, and from
 * the execution state the integrate job uploaded). When the wave landed cleanly and tasks of the
 * selection became ready, start the next wave and publish nothing yet. Otherwise the execution
 * ends: conclude what did not run with the reason, open or update the integration PR with the
 * app's token (so CI runs on it), post the report of all waves, commit the plan's status to the PR
 * branch when the config allows, conclude the summary check run and draw the dashboard one last
 * time. Running it twice is harmless: a concluded summary check run means it already ran, and an
 * earlier wave's run is in the record's `pastRuns`.
 */
import type { Config } from '../../engine/config/schema.js';
import { planWithStatuses } from '../../engine/finish/plan-update.js';
import { renderReport } from '../../engine/report/render.js';
import { untrustedMarkdown } from '../../engine/report/markdown.js';
import { integrationPullRequest } from '../../github-run/integration-pull-request.js';
import { reportCommentBody, reportMarkerKey } from '../../github-run/report-comment.js';
import type { Scope } from '../scope.js';
import type { JobInfo } from '../github/app-api.js';
import { combineWaves } from './combine.js';
import { RETRY_FAILED_ACTION, STATE_ARTIFACT } from './names.js';
import { decideNextWave, dispatchNextWave, type WaveOutcome } from './next-wave.js';
import type { RecordedTask } from './record.js';
import { cancelDashboardRedraw, writeDashboard } from './refresh.js';
import type { ResolvedExecution } from './resolve.js';
import { concludeNotRun, settleWave, type Conclusion, type EndedRun } from './settle.js';
import type { ExecutionPhase } from './state.js';
import { earlierStates, loadState } from './state-artifact.js';
import { finishedSummary } from './summary.js';
import { decodeTaskData } from './task-data.js';
import { currentWave } from './waves.js';
import type { ExecutionState } from '../../engine/state/schema.js';

export type { EndedRun } from './settle.js';

export interface FinalizeResult {
  /** `running`: the execution went on with its next wave (nothing else was published). */
  phase: ExecutionPhase;
  pullRequest: { number: number; url: string } | null;
  reportCommentUrl: string | null;
  planCommitted: boolean;
  nextWave: { wave: number; tasks: string[]; runId: number | null } | null;
}

export async function finalizeExecution(
  scope: Scope,
  execution: ResolvedExecution,
  run: EndedRun,
  config: Config | null,
): Promise<FinalizeResult | null> {
  const { record } = execution;
  if (execution.summary.status === 'completed') return null;
  // Only the current wave's run ends it: the end of an earlier wave, delivered again, does nothing.
  if (record.pastRuns.includes(run.id) || (record.run !== null && record.run !== run.id))
    return null;
  cancelDashboardRedraw(scope, record.execution);
  const now = scope.deps.clock.now().toISOString();
  const artifacts = await scope.api.listRunArtifacts(run.id);
  let listed: Promise<JobInfo[]> | null = null;
  const runJobs = () => (listed ??= scope.api.listRunJobs(run.id));
  const loaded = await loadState(scope, artifacts, runJobs, run.conclusion);
  const state = ownIntegration(scope, record.execution, loaded?.state ?? null);
  const jobs = knowsEveryJob(execution, state) ? [] : await runJobs();
  const settled = await settleWave(scope, execution, run, { jobs, artifacts, state });
  const { conclusions } = settled;

  let stopFailed = false;
  if (settled.remaining.length > 0) {
    const finishedWave = record.wave;
    let outcome: WaveOutcome = await decideNextWave(scope, execution, {
      run,
      state,
      conclusions: settled.waveConclusions,
      remaining: settled.remaining,
    });
    if (outcome.kind === 'next') {
      const started = await dispatchNextWave(scope, execution, run.id, outcome);
      if (started.ok) {
        await writeDashboard(scope, execution, {
          phase: 'running',
          note: waveNote(finishedWave, settled.waveConclusions, outcome.tasks, record.wave),
        });
        return {
          phase: 'running',
          pullRequest: null,
          reportCommentUrl: null,
          planCommitted: false,
          nextWave: { wave: record.wave, tasks: outcome.tasks, runId: record.run },
        };
      }
      const reason = `the next wave could not be started: ${started.error}`;
      outcome = {
        kind: 'stop',
        reasons: new Map(settled.remaining.map((t) => [t.id, reason])),
        conclusion: 'skipped',
        failed: true,
      };
    }
    stopFailed = outcome.failed;
    await concludeNotRun(scope, execution, settled.remaining, outcome, conclusions);
  }

  const phase: ExecutionPhase =
    run.conclusion === 'cancelled'
      ? 'cancelled'
      : !stopFailed &&
          [...conclusions.values()].every((c) => c === 'success' || c === 'skipped') &&
          run.conclusion === 'success'
        ? 'completed'
        : 'failed';

  // The report and the PR speak for every wave: each wave's run uploaded its own state.
  const earlierRuns = record.pastRuns.filter((id) => id !== run.id);
  const earlier = await earlierStates(scope, earlierRuns);
  const combined = ownIntegration(
    scope,
    record.execution,
    combineWaves(state ? [...earlier, state] : earlier),
  );
  const integration = combined?.integration ?? null;
  let pullRequest: FinalizeResult['pullRequest'] = null;
  if (combined !== null && integration && integration.merged.length > 0) {
    pullRequest = await scope.forge.upsertPullRequest(
      integrationPullRequest({
        state: combined,
        base: record.ref,
        planLabel: record.planTitle ?? record.plan,
        group: record.group,
        pullRequest: record.pr,
        runUrl: run.url,
      }),
      // The execution's own branch: only an earlier end of this execution could have opened it.
      { createFirst: true },
    );
  }

  let reportCommentUrl: string | null = null;
  if (record.pr !== null) {
    const report = combined
      ? renderReport(combined, { now: scope.deps.clock.now() })
      : loaded?.report
        ? // Written by the integrate job, where agent-written tests ran: text, never markup of its own.
          untrustedMarkdown(loaded.report)
        : noReport(run);
    const posted = await scope.forge.upsertComment(
      record.pr,
      reportMarkerKey(record.execution),
      reportCommentBody(report, record.execution, {
        runUrl: run.url,
        pullRequest,
        waves: earlierRuns.length + 1,
      }),
    );
    reportCommentUrl = posted.url;
  }

  const writeBack = record.writeBack ?? config?.github.writeBackToPr === true;
  const planCommitted =
    writeBack && record.pr !== null && combined !== null && integration !== null
      ? await writeBackPlan(scope, execution, integration.branch, combined)
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
  return { phase, pullRequest, reportCommentUrl, planCommitted, nextWave: null };
}

/**
 * The run's jobs add nothing when the uploaded state covers every task of the wave and each one's
 * job was heard of from start to end (its times and link are in its check run already).
 */
function knowsEveryJob(execution: ResolvedExecution, state: ExecutionState | null): boolean {
  if (state === null) return false;
  return currentWave(execution.record).every((id) => {
    const data = decodeTaskData(execution.checks.get(id)?.outputSummary ?? null);
    return (
      state.tasks[id] !== undefined &&
      data.startedAt !== null &&
      data.finishedAt !== null &&
      data.jobUrl !== null
    );
  });
}

/** The dashboard's line between two waves. */
function waveNote(
  finished: number,
  landed: ReadonlyMap<string, Conclusion>,
  next: readonly string[],
  wave: number,
): string {
  return `✅ Wave ${finished} landed: ${[...landed.keys()].join(', ')}. ▶️ Wave ${wave} started: ${next.join(', ')}.`;
}

/**
 * A state artifact with its integration only when the integration's branch is this execution's
 * own: the publish job pushes `<integration.branchPrefix><execution id>` and nothing else, and no
 * branch of anyone else's ends with an execution id made for this execution. The artifact comes
 * from jobs that ran agent-written code: one that names another branch (the PR's own, a
 * colleague's) must not get a pull request opened from it, a plan read from it, or the next wave
 * started on it in the app's name; its wave did not land.
 */
function ownIntegration(
  scope: Scope,
  execution: string,
  state: ExecutionState | null,
): ExecutionState | null {
  const integration = state?.integration ?? null;
  if (state === null || integration === null || integration.branch.endsWith(execution))
    return state;
  scope.log.warn('the state names an integration branch not of this execution; ignoring it', {
    execution,
    named: integration.branch,
  });
  return { ...state, integration: null };
}

/**
 * The plan on the integration branch carries the statuses the integrate job wrote back; the PR
 * branch gets those statuses, but only if nobody changed the plan there since the execution
 * started. They are written again here on the plan as it was at the start, from the state, not
 * copied: the integration branch's plan is agent-written text (an agent's edit of the plan that
 * touches no task is kept there, and the integrate job runs agent-written tests that could write
 * anything), and this commit, made with the app's token, skips the integration PR's review.
 */
async function writeBackPlan(
  scope: Scope,
  execution: ResolvedExecution,
  integrationBranch: string,
  state: ExecutionState,
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
  // The integrate job wrote nothing back (report.writeBack: none, or nothing landed).
  if (integrated.content === current.content) return false;
  let content: string;
  try {
    content = planWithStatuses(started.content, state, record.plan);
  } catch (error) {
    scope.log.warn('the statuses could not be written on the plan; not writing them back', {
      execution: record.execution,
      error: (error as Error).message,
    });
    return false;
  }
  if (content === current.content) return false;
  await scope.forge.createOrUpdateFile({
    path: record.plan,
    branch: record.ref,
    content,
    sha: current.sha,
    message: `Update plan status after parallel execution ${record.execution}`,
  });
  return true;
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
