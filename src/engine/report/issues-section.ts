import type { AgentMessage, ExecutionState, TaskRun } from '../state/schema.js';
import { formatTimeOfDay } from '../format.js';
import { agentExitText, fileList, failedCheckText } from './task-section.js';
import { mdCode, mdText } from './markdown.js';
import { repoPath } from './repo-path.js';
import { orderedTasks, taskOutcome, taskWarnings } from './outcome.js';
import { shortReason } from '../short-reason.js';
import { VALIDATION_FAILED } from '../validate/failure-reason.js';

const MESSAGES_LISTED = 10;
// The runner states a timeout in the reason ("timed out after 30m", "idle timeout: no output...").
const TIMEOUT = /\btim(?:ed|e)[\s-]?out\b|\bidle limit\b|\bhung\b/i;

/** "Issues Encountered": everything that went wrong or needed a second try, in one list. */
export function renderIssuesSection(state: ExecutionState): string[] {
  const issues: string[] = [];
  const tasks = orderedTasks(state);
  for (const task of tasks) issues.push(...taskIssues(task, state));
  const integration = state.integration;
  for (const conflict of integration?.conflicts ?? []) {
    const other =
      conflict.with.length > 0
        ? ` with ${conflict.with.map((id) => mdText(id, 40)).join(', ')}`
        : '';
    issues.push(
      `**Merge conflict**: ${mdText(conflict.taskId, 40)}${other} in ${fileList(conflict.files)}. Not auto-resolved: its branch is kept for a manual merge.`,
    );
  }
  for (const dropped of integration?.dropped ?? []) {
    // A conflict is listed once, above, as a conflict.
    if (integration?.conflicts.some((c) => c.taskId === dropped.taskId)) continue;
    issues.push(
      `**Dropped from integration**: ${mdText(dropped.taskId, 40)}: ${mdText(dropped.reason, 300)}`,
    );
  }
  if (integration?.testsPassed === false) {
    issues.push(
      `**Integration tests failing** on ${mdCode(integration.branch)} after ${integration.testRuns} test run(s).`,
    );
  }
  const lines = ['## Issues Encountered', ''];
  if (issues.length === 0 && state.messages.length === 0) return [...lines, 'None.', ''];
  issues.forEach((issue, index) => lines.push(`${index + 1}. ${issue}`));
  if (state.messages.length > 0) lines.push(...messageLines(state.messages, issues.length + 1));
  lines.push('');
  return lines;
}

function taskIssues(task: TaskRun, state: ExecutionState): string[] {
  const name = `${mdText(task.task_id, 40)} ${mdText(task.task, 80)} (${mdText(task.agent, 40)})`;
  const outcome = taskOutcome(task, state.integration);
  const issues: string[] = [];
  if (outcome === 'FAILED') issues.push(failureText(task, name, state.repo_root));
  if (outcome === 'CANCELLED') issues.push(`**Cancelled**: ${name}${reasonText(task)}`);
  if (outcome === 'SKIPPED' && task.reason !== null)
    issues.push(`**Skipped**: ${name}${reasonText(task)}`);
  if (task.attempts > 1) {
    const result = outcome === 'FAILED' ? 'and still failed' : 'before it succeeded';
    issues.push(`**Retried**: ${name} took ${task.attempts} attempts ${result}.`);
  }
  for (const warning of taskWarnings(task)) {
    issues.push(`**Warning**: ${name}: ${mdText(warning, 300)}.`);
  }
  if (outcome === 'NO_CHANGES' && (task.warnings ?? []).length === 0) {
    issues.push(`**Warning**: ${name}: the agent changed nothing.`);
  }
  const failedChecks = task.validation?.checks.filter((check) => !check.skipped && !check.passed);
  if (
    outcome === 'COMPLETE_WITH_WARNINGS' &&
    failedChecks !== undefined &&
    failedChecks.length > 0
  ) {
    const failed = failedChecks;
    issues.push(
      `**Warning**: ${name}: ${failed.map(failedCheckText).join(', ')}; non-blocking, worth a follow-up.`,
    );
  }
  return issues;
}

function failureText(task: TaskRun, name: string, repoRoot: string): string {
  const label = task.reason !== null && TIMEOUT.test(task.reason) ? 'Timeout' : 'Failed';
  const failed =
    task.validation?.status === 'FAILED'
      ? task.validation.checks.filter((c) => !c.skipped && !c.passed)
      : [];
  // A reason that says the validation failed names the critical checks: only the others are added.
  const said = task.reason?.startsWith(VALIDATION_FAILED) === true;
  const shown = said ? failed.filter((c) => !c.critical) : failed;
  const failedChecks =
    shown.length === 0
      ? ''
      : `; ${said ? 'also failed' : VALIDATION_FAILED}: ${shown.map(failedCheckText).join(', ')}`;
  const exit = agentExitText(task);
  const exitPart = exit === null ? '' : `; ${exit}`;
  return `**${label}**: ${name}${reasonText(task)}${failedChecks}${exitPart}. Log: ${mdCode(repoPath(repoRoot, task.log_file))}`;
}

function reasonText(task: TaskRun): string {
  return task.reason === null ? '' : `: ${mdText(shortReason(task.reason, 300), 300)}`;
}

function messageLines(messages: readonly AgentMessage[], number: number): string[] {
  const unanswered = messages.filter((message) => message.acknowledged_at === null).length;
  const undelivered = messages.filter((message) => message.undelivered != null).length;
  const lines = [
    `${number}. **Messages between agents**: ${messages.length}${unanswered > 0 ? `, ${unanswered} never acknowledged` : ''}${undelivered > 0 ? ` (${undelivered} never delivered)` : ''}`,
  ];
  // Those never delivered first: a sender counted on them.
  const shown = [
    ...messages.filter((message) => message.undelivered != null),
    ...messages.filter((message) => message.undelivered == null),
  ];
  for (const message of shown.slice(0, MESSAGES_LISTED)) {
    const at = timeOf(message.timestamp);
    const ack =
      message.undelivered != null
        ? `never delivered: ${mdText(message.undelivered, 120)}`
        : message.acknowledged_at === null
          ? 'never acknowledged'
          : `acknowledged ${timeOf(message.acknowledged_at)}`;
    lines.push(
      `   - ${at} ${mdText(message.from_agent, 40)} → ${mdText(message.to_agent, 40)} (${mdText(message.message_type, 40)}): ${mdCode(payloadText(message.payload), 120)}; ${ack}`,
    );
  }
  if (messages.length > MESSAGES_LISTED)
    lines.push(`   - … and ${messages.length - MESSAGES_LISTED} more`);
  return lines;
}

function timeOf(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? mdText(iso, 40) : formatTimeOfDay(date);
}

function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  try {
    return JSON.stringify(payload) ?? String(payload);
  } catch {
    return String(payload);
  }
}
