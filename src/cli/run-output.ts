import type { ExecutionState } from '../engine/state/schema.js';
import type { ExecutionPreview } from '../engine/run/orchestrator.js';
import type { PreflightReport } from '../engine/run/preflight.js';
import type { FinishOutcome } from '../engine/finish/finisher.js';
import type { FinishSettings } from '../engine/finish/settings.js';
import { integrationTestCommand } from '../engine/integrate/test-command.js';
import { checkText, detectChecks, type DetectedCheck } from '../engine/validate/detect.js';
import { activeMs, formatCost, formatDuration } from '../engine/format.js';
import { taskUsage } from '../engine/report/usage.js';
import {
  executionOutcome,
  integrationFate,
  taskDurationMs,
  taskOutcome,
  taskWarnings,
  type TaskOutcome,
} from '../engine/report/outcome.js';
import { shellArg } from '../engine/report/markdown.js';
import { recoverySteps } from '../engine/report/recovery.js';
import { repairLine } from '../engine/report/repairs.js';
import { dirname, join } from 'node:path';

const MARK = { ok: '✔', warn: '!', fail: '✖' } as const;

/** Phase 1's go/no-go report. */
export function formatPreflight(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = ['Pre-flight checks:'];
  for (const check of report.checks) {
    lines.push(`  ${MARK[check.level]} ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.hint !== null && check.level !== 'ok')
      lines.push(`    ${' '.repeat(width)}  hint: ${check.hint}`);
  }
  lines.push(report.go ? 'GO' : 'NO-GO: nothing was started.');
  return `${lines.join('\n')}\n`;
}

/** What `--dry-run` says of the steps after the agents: the checks, the integration, the plan. */
export interface FinishPreview {
  /** Each check as the repository's checkout says now (a worktree is looked at again later). */
  checks: DetectedCheck[];
  integration: {
    strategy: FinishSettings['integration']['strategy'];
    detectConflicts: boolean;
    /** Null: none configured or found. */
    testCommand: string | null;
    repairAttempts: number;
  };
  writeBack: FinishSettings['report']['writeBack'];
}

export async function finishPreview(
  repoRoot: string,
  settings: FinishSettings,
): Promise<FinishPreview> {
  return {
    checks: await detectChecks(repoRoot, settings.validation),
    integration: {
      strategy: settings.integration.strategy,
      detectConflicts: settings.integration.detectConflicts,
      testCommand: await integrationTestCommand(repoRoot, settings),
      repairAttempts: settings.integration.repair?.attempts ?? 0,
    },
    writeBack: settings.report.writeBack,
  };
}

const WRITE_BACK_TEXT: Record<FinishSettings['report']['writeBack'], string> = {
  'integration-branch': "the plan's statuses committed with the report on the integration branch",
  'working-tree': "the plan's statuses written into your plan file",
  none: 'the plan left alone (the report is still written)',
};

/** `--dry-run`: what would be created and run. */
export function formatPreview(
  preview: ExecutionPreview,
  agentLine: string,
  after: FinishPreview | null = null,
): string {
  const lines = [
    '',
    `Dry run: nothing was created. An execution now would be ${preview.executionId}:`,
    `  base       ${preview.baseRef} at ${preview.baseSha.slice(0, 12)}`,
    `  state      ${preview.executionDir}/PARALLEL_EXECUTION_STATUS.json`,
    `  worktrees  ${preview.worktreeRoot}/`,
    `  agent      ${agentLine}`,
    ...(preview.setupCommand ? [`  setup      ${preview.setupCommand}`] : []),
    ...(preview.alreadyCompleted.length > 0
      ? [`  not re-run (completed in the plan): ${preview.alreadyCompleted.join(', ')}`]
      : []),
    '',
    `Tasks (${preview.tasks.length}):`,
  ];
  for (const task of preview.tasks) {
    const from = task.dependsOn.length > 0 ? `after ${task.dependsOn.join(', ')}` : 'at once';
    lines.push(
      `  ${task.taskId}  ${task.title}`,
      `      agent ${task.agents.join(', ') || 'unassigned'}, starts ${from}, port ${task.port}`,
      `      branch ${task.branch}`,
      ...(task.note ? [`      note: ${task.note}`] : []),
      `      worktree ${task.worktree}`,
    );
  }
  if (after !== null) lines.push(...finishLines(after));
  return `${lines.join('\n')}\n`;
}

function finishLines(after: FinishPreview): string[] {
  const width = Math.max(...after.checks.map((check) => check.name.length));
  const { integration } = after;
  const repairs =
    integration.repairAttempts === 0
      ? 'no repair'
      : `a task left out handed back to its agent up to ${integration.repairAttempts} time(s)`;
  return [
    '',
    "Checks of each task's work, as the checkout says now (each worktree is looked at again when",
    'its agent is done: an agent that adds a test script gets it run):',
    ...after.checks.map((check) => `  ${check.name.padEnd(width)}  ${checkText(check, '  ')}`),
    '',
    `Integration: ${integration.strategy}${integration.detectConflicts ? ', conflicts checked first' : ''}; ` +
      `tests: ${integration.testCommand ?? 'none found (set integration.testCommand)'}; ${repairs}`,
    `Write-back: ${WRITE_BACK_TEXT[after.writeBack]}`,
  ];
}

/** The report's outcome words, for a terminal: a mark, then the word. */
const OUTCOME_TEXT: Record<TaskOutcome, [mark: string, word: string]> = {
  COMPLETE: ['✔', 'complete'],
  COMPLETE_WITH_WARNINGS: ['✔', 'complete with warnings'],
  NO_CHANGES: ['!', 'no changes'],
  DROPPED: ['✖', 'not merged'],
  FAILED: ['✖', 'failed'],
  SKIPPED: ['⏭', 'skipped'],
  CANCELLED: ['■', 'cancelled'],
  NOT_STARTED: ['⏸', 'not started'],
  RUNNING: ['·', 'running'],
  PENDING: ['·', 'pending'],
};

/**
 * The closing summary: one line per task (with its validation and what integration did with it),
 * the integration branch, where the report is, what was kept and why, and what to do next.
 */
export function formatSummary(
  state: ExecutionState,
  stateFile: string,
  outcome: FinishOutcome | null = null,
): string {
  // The report's status word and wall time, so the terminal and the report tell one story.
  const cancelled = state.status === 'cancelled' ? ' (cancelled)' : '';
  const wall = activeMs(state.started_at, state.finished_at, state.stopped_ms);
  const lines = [
    '',
    `Execution ${state.execution_id}: ${executionOutcome(state)}${cancelled}${wall === null ? '' : ` in ${formatDuration(wall)}`}`,
  ];
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    const duration = taskDurationMs(run);
    const took = duration === null ? '' : ` in ${formatDuration(duration)}`;
    const cost = taskUsage(run)?.costUsd ?? null;
    const spent = cost === null ? '' : `, ${formatCost(cost)}`;
    const attempts = run.attempts > 1 ? `, ${run.attempts} attempts` : '';
    const validation = run.validation === null ? '' : `, ${run.validation.status}`;
    const fate = fateText(id, state);
    const [mark, word] = OUTCOME_TEXT[taskOutcome(run, state.integration)];
    lines.push(
      `  ${mark} ${id} ${word}${took}${spent}${attempts}${validation}${fate}  ${run.branch}`,
    );
    if (run.reason !== null) lines.push(`      ${run.reason}`);
    for (const warning of taskWarnings(run)) lines.push(`      ! ${warning}`);
    // Retries and refusals the agent met on the way, even when it succeeded.
    for (const said of run.diagnostics ?? []) lines.push(`      agent: ${said}`);
    for (const kept of run.kept_refs ?? []) lines.push(`      kept ${kept.ref}: ${kept.why}`);
  }
  lines.push(...integrationLines(state, outcome));
  lines.push(...reportLines(state, outcome));
  lines.push(`State: ${stateFile}`);
  lines.push(...keptLines(state, stateFile, outcome));
  lines.push(...checkoutLines(state));
  lines.push(...nextStepLines(state, outcome));
  return `${lines.join('\n')}\n`;
}

function fateText(taskId: string, state: ExecutionState): string {
  const fate = integrationFate(taskId, state.integration);
  switch (fate.kind) {
    case 'merged':
      return ', merged';
    case 'conflict':
      return `, merge conflict${fate.with.length > 0 ? ` with ${fate.with.join(', ')}` : ''} in ${fate.files.join(', ')}`;
    case 'dropped':
      return `, dropped: ${fate.reason}`;
    case 'not-integrated':
      return '';
  }
}

function integrationLines(state: ExecutionState, outcome: FinishOutcome | null): string[] {
  const integration = state.integration;
  if (outcome?.integrationError)
    return ['', `Integration did not finish: ${outcome.integrationError}`];
  if (integration === null)
    return outcome === null ? [] : ['', 'Integration: nothing validated to merge.'];
  const tests =
    integration.testsPassed === null
      ? 'no integration tests found'
      : `integration tests ${integration.testsPassed ? 'pass' : 'FAIL'} (${integration.testCommand})`;
  const lines = [
    '',
    `Integration branch: ${integration.branch} (${integration.strategy})`,
    `  merged ${integration.merged.length} of ${state.task_order.length}: ${integration.merged.join(', ') || 'none'}`,
    `  ${tests}; ${integration.testRuns} test run${integration.testRuns === 1 ? '' : 's'}`,
  ];
  for (const conflict of integration.conflicts) {
    const other = conflict.with.length > 0 ? ` with ${conflict.with.join(', ')}` : '';
    lines.push(
      `  conflict: ${conflict.taskId}${other} in ${conflict.files.join(', ')} (not merged)`,
    );
  }
  for (const dropped of integration.dropped) {
    if (integration.conflicts.some((c) => c.taskId === dropped.taskId)) continue;
    lines.push(`  dropped: ${dropped.taskId}: ${dropped.reason}`);
  }
  for (const note of integration.notes ?? []) lines.push(`  note: ${note}`);
  // The report and the live lines said so; the summary did not, and a failed repair's branch
  // stayed without a word (the task's line gives the first failure only).
  for (const repair of integration.repairs ?? []) {
    lines.push(`  repair: ${repairLine(repair)}`);
    if (repair.outcome === 'failed') {
      lines.push(`      branch ${repair.branch}`);
      for (const ref of repair.keptRefs) lines.push(`      kept   ${ref}`);
    }
  }
  return lines;
}

function reportLines(state: ExecutionState, outcome: FinishOutcome | null): string[] {
  if (outcome?.reportError) return [`Report: not written (${outcome.reportError})`];
  if (state.report_path === null) return [];
  const commit = state.report_commit ?? null;
  const lines = [`Report: ${state.report_path}`];
  if (commit !== null) {
    lines.push(`  committed on ${commit.branch} as ${commit.path} (${commit.sha.slice(0, 12)})`);
  }
  const writeBack = outcome?.report?.writeBack;
  if (writeBack !== undefined) {
    lines.push(`Plan: ${writeBack.note}`);
    // One on a task is said on the task's line above.
    const onTasks = new Set(state.task_order.flatMap((id) => state.tasks[id]!.warnings ?? []));
    for (const warning of writeBack.warnings) {
      if (!onTasks.has(warning)) lines.push(`  ! ${warning}`);
    }
  }
  return lines;
}

function keptLines(
  state: ExecutionState,
  stateFile: string,
  outcome: FinishOutcome | null,
): string[] {
  if (outcome === null) {
    const kept = state.task_order.filter((id) => state.tasks[id]!.status === 'failed');
    return kept.length > 0
      ? [`Worktrees, branches and logs of failed tasks are kept (${kept.join(', ')}).`]
      : [];
  }
  if (outcome.cleanup !== null) {
    const archives = outcome.cleanup.archives.filter((a) => a.archive !== null).length;
    // Archives sit beside the state file, in the execution folder.
    const where = join(dirname(stateFile), 'archives');
    const kept = outcome.cleanup.items.filter((item) => item.action === 'kept').length;
    return [
      `Cleaned up: worktrees removed, merged task and repair branches deleted, logs and outputs archived (${archives}) in ${where}`,
      // An unmerged branch (a repair attempt that did not land) stays: say so, and where to look.
      ...(kept > 0
        ? [
            `  ${kept} item(s) kept, each with the reason: \`parallel-executor clean ${shellArg(state.execution_id)}\` lists them`,
          ]
        : []),
    ];
  }
  if (outcome.kept.length === 0) return [];
  const lines = ['Kept for you to look at (nothing was cleaned up):'];
  for (const task of outcome.kept) {
    lines.push(`  ${task.taskId}: ${task.why}`);
    // Only what is there: a clean --force before a resume removed some (its work is kept).
    if (task.worktree !== null) lines.push(`      worktree ${task.worktree}`);
    if (task.branch !== null) lines.push(`      branch   ${task.branch}`);
    if (task.log !== null) lines.push(`      log      ${task.log}`);
    if (task.outputs !== null) lines.push(`      outputs  ${task.outputs}`);
  }
  return lines;
}

/** What changed in the user's checkout during the run: named, never undone by the tool. */
function checkoutLines(state: ExecutionState): string[] {
  const changes = state.checkout_changes ?? [];
  if (changes.length === 0) return [];
  return [
    'Your checkout changed during the run (nothing was undone; check these yourself):',
    ...changes.map((change) => `  ! ${change}`),
  ];
}

/**
 * What `clean` would do for this execution, said as such: it removes what landed and the worktrees
 * of completed tasks, and keeps every failed, cancelled, conflicted or dropped task's worktree,
 * branch and log. When no task completed, a plain clean removes nothing; only `--force` does, and
 * it deletes unmerged work, so it is offered for once that work is no longer needed.
 */
function cleanStep(state: ExecutionState, id: string): string {
  const merged = state.integration?.merged.length ?? 0;
  if (merged > 0) {
    return `clean up what landed (keeps what explains a failure):  parallel-executor clean ${id}`;
  }
  const cleaned = new Set<TaskOutcome>(['COMPLETE', 'COMPLETE_WITH_WARNINGS', 'NO_CHANGES']);
  const completed = state.task_order.some((task) =>
    cleaned.has(taskOutcome(state.tasks[task]!, state.integration)),
  );
  if (completed) {
    return `clean up the completed tasks' worktrees (nothing landed: their branches stay, and what explains a failure):  parallel-executor clean ${id}`;
  }
  return `once you no longer need what this execution kept, discard it (deletes its worktrees, unmerged branches and logs):  parallel-executor clean ${id} --force`;
}

function nextStepLines(state: ExecutionState, outcome: FinishOutcome | null): string[] {
  const id = shellArg(state.execution_id);
  if (outcome === null) {
    return state.status === 'cancelled' ? [`Resume with: parallel-executor resume ${id}`] : [];
  }
  const steps: string[] = [];
  const integration = state.integration;
  if (integration !== null && integration.merged.length > 0) {
    const branch = shellArg(integration.branch);
    steps.push(
      `review:  git log --oneline --graph ${shellArg(state.base_ref)}..${branch}`,
      `merge:   git merge --no-ff ${branch}   (on ${state.base_ref})`,
    );
  }
  for (const step of recoverySteps(state)) steps.push(`${step.what}:  ${step.command}`);
  if (outcome.cleanup === null) steps.push(cleanStep(state, id));
  if (steps.length === 0) return [];
  return ['Next steps:', ...steps.map((step) => `  - ${step}`)];
}
