import type { IntegrationResult } from '../integrate/schema.js';
import type { TaskRun } from '../state/schema.js';
import type { CheckResult, ValidationReport } from '../validate/schema.js';
import { formatDuration, formatPercent } from '../format.js';
import { mdCode, mdTable, mdText } from './markdown.js';
import { repoPath } from './repo-path.js';
import { taskUsage, usageText } from './usage.js';
import {
  integrationFate,
  taskDurationMs,
  taskOutcome,
  TASK_OUTCOME_LABEL,
  taskWarnings,
  type IntegrationFate,
} from './outcome.js';
import { shortReason } from '../short-reason.js';

const FILES_LISTED = 5;
const HOUR_MS = 3_600_000;

/** "Agent Performance": an overview table, then the seed's block per task. */
export function renderTaskSection(
  tasks: readonly TaskRun[],
  integration: IntegrationResult | null,
  repoRoot: string,
  now?: Date,
): string[] {
  if (tasks.length === 0) return ['## Agent Performance', '', 'No tasks ran.', ''];
  const rows = tasks.map((task) => [
    mdText(`${task.task_id} ${task.task}`, 60),
    mdText(task.agent, 40),
    TASK_OUTCOME_LABEL[taskOutcome(task, integration)],
    durationCell(task, now),
    task.estimate_hours === null ? '—' : formatDuration(task.estimate_hours * HOUR_MS),
    task.metrics === null ? '—' : String(task.metrics.files_modified),
    task.metrics === null ? '—' : `+${task.metrics.lines_added} / -${task.metrics.lines_removed}`,
    coverageText(task.validation),
    testsText(task.validation),
    fateCell(integrationFate(task.task_id, integration)),
  ]);
  const header = ['Task', 'Agent', 'Status', 'Duration', 'Estimate', 'Files', 'Lines', 'Coverage'];
  const lines = [
    '## Agent Performance',
    '',
    ...mdTable([...header, 'Tests', 'Integration'], rows),
    '',
  ];
  for (const task of tasks) lines.push(...taskBlock(task, integration, repoRoot, now), '');
  return lines;
}

function taskBlock(
  task: TaskRun,
  integration: IntegrationResult | null,
  repoRoot: string,
  now?: Date,
): string[] {
  const outcome = taskOutcome(task, integration);
  const lines = [
    `### ${mdText(task.task_id, 40)}: ${mdText(task.task, 120)}`,
    `- **Status**: ${TASK_OUTCOME_LABEL[outcome]}`,
    `- **Agent**: ${agentsText(task)}`,
    `- **Duration**: ${durationWithEstimate(task, now)}`,
  ];
  if (task.attempts > 1) lines.push(`- **Attempts**: ${task.attempts}`);
  if (task.metrics !== null) {
    lines.push(
      `- **Files Modified**: ${filesText(task.metrics.files_changed, task.metrics.files_modified)}`,
    );
    lines.push(
      `- **Lines Added/Removed**: +${task.metrics.lines_added} / -${task.metrics.lines_removed}`,
    );
  }
  lines.push(`- **Test Coverage**: ${coverageText(task.validation)}`);
  lines.push(`- **Tests Passing**: ${testsText(task.validation)}`);
  lines.push(`- **Validation**: ${validationSummary(task.validation)}`);
  if (task.validation?.audit)
    lines.push(`- **Security Audit**: ${auditText(task.validation.audit)}`);
  const usage = taskUsage(task);
  lines.push(
    `- **Tokens / Cost**: ${usage === null ? 'not reported by the agent' : usageText(usage)}`,
  );
  lines.push(
    `- **Integration**: ${fateText(integrationFate(task.task_id, integration), integration)}`,
  );
  lines.push(`- **Branch**: ${mdCode(task.branch)}`);
  const kept = task.kept_refs ?? [];
  if (kept.length > 0) {
    // Earlier or abandoned states of the work (failed attempts, what resume found): never deleted.
    const refs = kept.map((k) => `${mdCode(k.ref)} (${mdText(k.why, 200)})`);
    lines.push(`- **Kept Refs**: ${refs.join('; ')}`);
  }
  const warnings = taskWarnings(task);
  if (warnings.length > 0) lines.push(`- **Warnings**: ${mdText(warnings.join('; '), 500)}`);
  // What the agent said on the way: API retries, refused tool calls.
  const diagnostics = task.diagnostics ?? [];
  if (diagnostics.length > 0)
    lines.push(`- **Agent Diagnostics**: ${mdText(diagnostics.join('; '), 600)}`);
  if (['FAILED', 'SKIPPED', 'CANCELLED', 'NOT_STARTED'].includes(outcome)) {
    if (task.reason !== null)
      lines.push(`- **Reason**: ${mdText(shortReason(task.reason, 300), 300)}`);
    const exit = agentExitText(task);
    if (exit !== null) lines.push(`- **Exit Code**: ${exit}`);
  }
  if (outcome === 'FAILED' || outcome === 'CANCELLED') {
    lines.push(
      `- **Log**: ${mdCode(repoPath(repoRoot, task.log_file))}`,
      `- **Worktree**: ${mdCode(repoPath(repoRoot, task.worktree))}`,
    );
  }
  return lines;
}

/**
 * The agent's exit status, said only when it explains the failure: an agent that exited 0 and
 * then failed validation did not fail with "exit code 0".
 */
export function agentExitText(task: TaskRun): string | null {
  if (task.exit_code === null || task.exit_code === 0) return null;
  return `the agent exited with code ${task.exit_code}`;
}

function agentsText(task: TaskRun): string {
  const others = task.agents.filter((agent) => agent !== task.agent);
  const main = mdText(task.agent, 40);
  return others.length === 0
    ? main
    : `${main} (with ${others.map((a) => mdText(a, 40)).join(', ')})`;
}

function durationCell(task: TaskRun, now?: Date): string {
  const ms = taskDurationMs(task, now);
  return ms === null ? '—' : formatDuration(ms);
}

function durationWithEstimate(task: TaskRun, now?: Date): string {
  const ms = taskDurationMs(task, now);
  const actual = ms === null ? 'not started' : formatDuration(ms);
  if (task.estimate_hours === null) return `${actual} (no estimate in the plan)`;
  const estimateMs = task.estimate_hours * HOUR_MS;
  if (ms === null || estimateMs === 0) return `${actual} (estimate ${formatDuration(estimateMs)})`;
  return `${actual} (estimate ${formatDuration(estimateMs)}; took ${formatPercent(ms / estimateMs)} of it)`;
}

/** `3 (`a.ts`, `b.ts`, `c.ts`)`: the count, then the first few names. */
export function filesText(files: readonly string[], count: number): string {
  if (files.length === 0) return String(count);
  return `${count} (${fileList(files)})`;
}

/** `` `a.ts`, `b.ts`, +4 more ``. */
export function fileList(files: readonly string[]): string {
  if (files.length === 0) return 'unknown files';
  const listed = files.slice(0, FILES_LISTED).map((file) => mdCode(file, 80));
  const more = files.length > FILES_LISTED ? `, +${files.length - FILES_LISTED} more` : '';
  return `${listed.join(', ')}${more}`;
}

function coverageText(validation: ValidationReport | null): string {
  return validation?.coverage == null ? 'n/a' : `${trimNumber(validation.coverage)}%`;
}

function testsText(validation: ValidationReport | null): string {
  return validation?.tests == null ? 'n/a' : `${validation.tests.passed}/${validation.tests.total}`;
}

function trimNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** Which checks passed, failed (and whether that blocks) and were skipped (and why). */
export function validationSummary(validation: ValidationReport | null): string {
  if (validation === null) return 'not run';
  const ran = validation.checks.filter((check) => !check.skipped);
  const failed = ran.filter((check) => !check.passed);
  const passed = ran.filter((check) => check.passed);
  const skipped = validation.checks.filter((check) => check.skipped);
  const parts: string[] = [];
  if (ran.length === 0) parts.push('no checks ran');
  else if (failed.length === 0)
    parts.push(`All checks passed (${passed.map((c) => c.name).join(', ')})`);
  else {
    parts.push(`Failed: ${failed.map(failedCheckText).join(', ')}`);
    if (passed.length > 0) parts.push(`passed: ${passed.map((c) => c.name).join(', ')}`);
  }
  if (skipped.length > 0) parts.push(`skipped: ${skipped.map(skippedCheckText).join(', ')}`);
  return parts.join('; ');
}

export function failedCheckText(check: CheckResult): string {
  const exit = check.exitCode === null ? 'no exit code' : `exit ${check.exitCode}`;
  // Exit 0 and failed says nothing without what was read (coverage below the minimum).
  const why = typeof check.failure === 'string' ? `${mdText(check.failure, 160)}; ` : '';
  return `${check.name} (${why}${exit}, ${check.critical ? 'critical' : 'non-blocking'})`;
}

function skippedCheckText(check: CheckResult): string {
  return check.note === null ? check.name : `${check.name} (${mdText(check.note, 80)})`;
}

function auditText(audit: NonNullable<ValidationReport['audit']>): string {
  return `${audit.critical} critical, ${audit.high} high, ${audit.moderate} moderate, ${audit.low} low`;
}

function fateCell(fate: IntegrationFate): string {
  switch (fate.kind) {
    case 'merged':
      return 'merged';
    case 'conflict':
      return `conflict${fate.with.length > 0 ? ` with ${fate.with.map((id) => mdText(id, 40)).join(', ')}` : ''}`;
    case 'dropped':
      return 'dropped';
    case 'not-integrated':
      return '—';
  }
}

function fateText(fate: IntegrationFate, integration: IntegrationResult | null): string {
  switch (fate.kind) {
    case 'merged':
      return `merged into ${mdCode(integration?.branch ?? '')}`;
    case 'conflict': {
      const other =
        fate.with.length > 0 ? ` with ${fate.with.map((id) => mdText(id, 40)).join(', ')}` : '';
      return `❌ merge conflict${other} in ${fileList(fate.files)}; not merged`;
    }
    case 'dropped':
      return `❌ dropped: ${mdText(fate.reason, 200)}`;
    case 'not-integrated':
      return integration === null ? 'no integration ran' : 'not merged (not ready for integration)';
  }
}
