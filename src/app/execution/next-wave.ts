/**
 * After a wave's run: go on with the next wave, or stop. The next wave starts only when this one
 * landed cleanly (`landingProblems`, the rule the workflow's publish job follows too; the app
 * also knows the jobs' and the run's conclusions) and tasks of the selection became ready in
 * the plan on the integration branch (the integrate job wrote their dependencies' statuses there).
 * It runs on that branch, with the same execution id, so it builds on the earlier waves' work and
 * pushes the same integration branch further. A failed wave stops the execution: a person looks.
 *
 * Dispatching twice must never happen, so the record (in the summary check run) moves to the next
 * wave before the dispatch: a redelivered end of this wave then finds its run among `pastRuns`.
 */
import { landingProblems } from '../../engine/schedule/landed.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { parsePlan } from '../../engine/plan/parse.js';
import { WritePriority } from '../../forge/policy.js';
import type { CheckRunInput } from '../../forge/types.js';
import type { Scope } from '../scope.js';
import { dispatchInputNames, workflowPath } from '../../forge/workflow.js';
import { STATE_ARTIFACT } from './names.js';
import type { RecordedTask } from './record.js';
import type { ResolvedExecution } from './resolve.js';
import { describeError, dispatchInputs } from './start.js';
import { runningSummary } from './summary.js';
import { showTaskCheck } from './task-checks.js';
import { queuedOutput } from './task-output.js';
import { currentWave, pickWave, waveCorrelationId } from './waves.js';

type Conclusion = NonNullable<CheckRunInput['conclusion']>;

/** Inputs the next wave cannot do without: the branch to run on, and the execution it continues. */
const REQUIRED_INPUTS = ['ref', 'execution-id'] as const;

export type WaveOutcome =
  | { kind: 'next'; tasks: string[]; branch: string; inputs: ReadonlySet<string> }
  /** `reasons`: why each remaining task does not run; `failed`: the execution failed. */
  | { kind: 'stop'; reasons: Map<string, string>; conclusion: Conclusion; failed: boolean };

export interface EndedWave {
  run: { id: number; conclusion: string | null };
  state: ExecutionState | null;
  /** The conclusions of the tasks this wave ran. */
  conclusions: ReadonlyMap<string, Conclusion>;
  /** Tasks of the selection no wave has run yet. */
  remaining: readonly RecordedTask[];
}

export async function decideNextWave(
  scope: Scope,
  execution: ResolvedExecution,
  ended: EndedWave,
): Promise<WaveOutcome> {
  const { record } = execution;
  const all = (reason: string, conclusion: Conclusion = 'skipped', failed = true): WaveOutcome => ({
    kind: 'stop',
    reasons: new Map(ended.remaining.map((t) => [t.id, reason])),
    conclusion,
    failed,
  });
  if (ended.run.conclusion === 'cancelled') {
    return all('the execution was cancelled before its wave', 'cancelled');
  }
  const problems = landingProblems({
    state: ended.state,
    wave: currentWave(record),
    taskConclusions: ended.conclusions,
    runConclusion: ended.run.conclusion,
    stateSource: `no \`${STATE_ARTIFACT}\` artifact`,
  });
  if (problems.length > 0) {
    return all(`wave ${record.wave} did not land cleanly (${problems.join('; ')})`);
  }
  const branch = ended.state!.integration!.branch;
  const plan = await scope.forge.getFile(record.plan, branch);
  if (plan === null) return all(`the plan \`${record.plan}\` is not on \`${branch}\``);
  const pick = pickWave(
    parsePlan(plan.content).plan,
    ended.remaining.map((t) => t.id),
  );
  if (pick.ready.length === 0) {
    const reasons = new Map<string, string>();
    for (const w of pick.waiting) {
      reasons.set(w.id, `it waits for ${w.on.join(', ')}, not done in the plan on \`${branch}\``);
    }
    for (const id of pick.done) reasons.set(id, `the plan on \`${branch}\` marks it done already`);
    for (const id of pick.missing) reasons.set(id, `the plan on \`${branch}\` has no such task`);
    return { kind: 'stop', reasons, conclusion: 'skipped', failed: false };
  }
  const workflow = await scope.forge.getFile(workflowPath(record.workflow));
  const inputs = workflow === null ? new Set<string>() : dispatchInputNames(workflow.content);
  const missing = REQUIRED_INPUTS.filter((name) => !inputs.has(name));
  if (missing.length > 0) {
    return all(
      `the workflow \`${record.workflow}\` on the default branch declares no ${missing.map((n) => `\`${n}\``).join(' or ')} input, so the app cannot start the next wave on \`${branch}\``,
    );
  }
  return { kind: 'next', tasks: pick.ready, branch, inputs };
}

/**
 * Move the record to the next wave, dispatch it, and put its tasks' check runs back in the queue.
 * Returns the error when the dispatch failed (the record then stays on the new wave, with no run).
 */
export async function dispatchNextWave(
  scope: Scope,
  execution: ResolvedExecution,
  finishedRun: number,
  next: Extract<WaveOutcome, { kind: 'next' }>,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const { record } = execution;
  record.pastRuns = [...record.pastRuns.filter((id) => id !== finishedRun), finishedRun];
  record.wave += 1;
  record.waveTasks = next.tasks;
  record.run = null;
  record.runUrl = null;
  record.waveStartedAt = scope.deps.clock.now().toISOString();
  await saveSummary(scope, execution);

  let dispatched: { runId: number | null; url: string | null };
  try {
    dispatched = await scope
      .forgeAt(WritePriority.dispatch)
      .dispatchWorkflow(
        record.workflow,
        record.ref,
        dispatchInputs(record, next.inputs, next.branch),
        { correlationId: waveCorrelationId(record) },
      );
  } catch (error) {
    const message = describeError(error);
    scope.log.error('next wave dispatch failed', { execution: record.execution, error: message });
    return { ok: false, error: message };
  }
  record.run = dispatched.runId;
  record.runUrl = dispatched.url;
  if (record.run !== null) await saveSummary(scope, execution);

  for (const id of currentWave(record)) {
    const task = record.tasks.find((t) => t.id === id);
    const check = execution.checks.get(id);
    if (!task || !check || check.status === 'completed') continue;
    await showTaskCheck(
      scope,
      execution,
      id,
      { status: 'queued', output: queuedOutput(task) },
      'queued',
    );
  }
  return { ok: true };
}

async function saveSummary(scope: Scope, execution: ResolvedExecution): Promise<void> {
  const { record } = execution;
  const output = runningSummary(record);
  await scope.forge.updateCheckRun(execution.summary.id, {
    ...(record.runUrl ? { detailsUrl: record.runUrl } : {}),
    output,
  });
  execution.summary = {
    ...execution.summary,
    outputTitle: output.title,
    outputSummary: output.summary,
  };
}
