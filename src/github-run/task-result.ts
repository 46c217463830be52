/**
 * A task's check run once the run has integrated: its conclusion, title and the lines that say
 * what became of it (status, time, cost, why it failed, where it merged or what conflicted, its
 * validation checks). Whichever shell completes the check run — the Action's publish job on its
 * own, the App when it manages the run — says the same. The shells add their own header and links.
 */
import type { IntegrationResult } from '../engine/integrate/schema.js';
import type { TaskRun } from '../engine/state/schema.js';
import type { CheckRunInput } from '../forge/types.js';
import { riskText } from '../engine/report/integration-section.js';
import { mdCode, mdText } from '../engine/report/markdown.js';
import { taskUsage, usageText } from '../engine/report/usage.js';
import { agentOutcome, taskWarnings } from '../engine/report/outcome.js';

export type Conclusion = NonNullable<CheckRunInput['conclusion']>;

export interface TaskResult {
  conclusion: Conclusion;
  title: string;
  /** Markdown lines, without a header. */
  lines: string[];
}

export function taskResult(run: TaskRun, integration: IntegrationResult | null): TaskResult {
  const conclusion = conclusionOf(run, integration);
  const duration = durationText(run.started_at, run.finished_at);
  const merge = mergeLine(run.task_id, integration);
  const lines = [
    `**Status**: ${run.status}${duration ? ` · **Duration**: ${duration}` : ''}${costText(run)}`,
    ...(run.reason ? [`**Reason**: ${mdText(run.reason, 1000)}`] : []),
    ...taskWarnings(run).map((warning) => `**Warning**: ${mdText(warning, 500)}`),
    ...(merge === null ? [] : [merge]),
    ...riskLines(run.task_id, integration),
    '',
    ...validationTable(run),
  ];
  return { conclusion, title: titleOf(run, conclusion), lines };
}

/** Merged: success. Completed but not merged (a conflict, dropped, or no integration): failure. */
function conclusionOf(run: TaskRun, integration: IntegrationResult | null): Conclusion {
  if (run.status === 'cancelled') return 'cancelled';
  if (run.status === 'skipped') return 'skipped';
  if (run.status !== 'completed') return 'failure';
  return integration?.merged.includes(run.task_id) ? 'success' : 'failure';
}

const TITLE: Partial<Record<Conclusion, string>> = {
  cancelled: 'Cancelled',
  skipped: 'Skipped',
};

function titleOf(run: TaskRun, conclusion: Conclusion): string {
  if (conclusion === 'success') {
    return agentOutcome(run) === 'COMPLETE_WITH_WARNINGS'
      ? 'Completed with warnings'
      : 'Completed and merged';
  }
  if (conclusion === 'failure') return run.status === 'completed' ? 'Not merged' : 'Failed';
  return TITLE[conclusion] ?? 'Finished';
}

function mergeLine(taskId: string, integration: IntegrationResult | null): string | null {
  if (!integration) return null;
  if (integration.merged.includes(taskId)) return `**Merged** into ${mdCode(integration.branch)}`;
  const conflict = integration.conflicts.find((c) => c.taskId === taskId);
  if (conflict) {
    const files = conflict.files.map((f) => mdCode(f)).join(', ') || 'unknown files';
    const others = conflict.with.length > 0 ? ` (with ${conflict.with.join(', ')})` : '';
    return `**Merge conflict** in ${files}${others}`;
  }
  const dropped = integration.dropped.find((d) => d.taskId === taskId);
  return dropped ? `**Not merged**: ${mdText(dropped.reason, 500)}` : null;
}

/** Interaction risks with other tasks: they merged cleanly, yet may break each other. */
function riskLines(taskId: string, integration: IntegrationResult | null): string[] {
  return (integration?.risks ?? [])
    .filter((risk) => risk.tasks.includes(taskId))
    .map((risk) => {
      const other = risk.tasks[0] === taskId ? risk.tasks[1] : risk.tasks[0];
      return `**Interaction risk** with ${mdCode(other)}: ${riskText(risk)}`;
    });
}

function validationTable(run: TaskRun): string[] {
  const checks = run.validation?.checks ?? [];
  if (checks.length === 0) return ['No validation report.'];
  return [
    '| Check | Result | Command | Duration |',
    '|---|---|---|---|',
    ...checks.map((c) => {
      const result = c.skipped ? '⏭️ skipped' : c.passed ? '✅ passed' : '❌ failed';
      const command = c.command ? mdCode(c.command) : '—';
      return `| ${c.name}${c.critical ? ' (critical)' : ''} | ${result} | ${command} | ${formatMs(c.durationMs)} |`;
    }),
  ];
}

function costText(run: TaskRun): string {
  const m = run.metrics;
  if (!m) return '';
  // One wording of tokens and cost for every output (cache reads and writes apart from input).
  const usage = taskUsage(run);
  const parts = [
    `**Tokens / cost**: ${usage === null ? 'not reported by the agent' : usageText(usage)}`,
    `**Changes**: +${m.lines_added} −${m.lines_removed} in ${m.files_modified} file(s)`,
  ].filter((part): part is string => part !== null);
  return ` · ${parts.join(' · ')}`;
}

export function durationText(from: string | null, to: string | null): string | null {
  if (!from || !to) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? formatMs(ms) : null;
}

function formatMs(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
