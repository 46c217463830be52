/**
 * The report comment on the PR the run was started from: one per execution, found again by its
 * hidden marker (the forge upserts it) so every wave and every redelivery edits the same comment.
 * The Action writes it when no App manages the run; the App writes it when it does.
 */
import { mdCode } from '../engine/report/markdown.js';

/** `report-<execution>`, the marker key (`<!-- parallel-executor:report-<execution> -->`). */
export function reportMarkerKey(executionId: string): string {
  return `report-${executionId}`;
}

export interface ReportLinks {
  runUrl: string | null;
  pullRequest: { number: number } | null;
  /** How many waves the report covers; one is not mentioned. */
  waves?: number;
}

/** The report with a footer line: the execution, its waves, the workflow run, the integration PR. */
export function reportCommentBody(report: string, executionId: string, links: ReportLinks): string {
  const waves = (links.waves ?? 1) > 1 ? ` (${links.waves} waves)` : '';
  const parts = [
    links.runUrl ? `[Workflow run](${links.runUrl})` : null,
    links.pullRequest ? `Integration PR #${links.pullRequest.number}` : null,
  ].filter((part): part is string => part !== null);
  const footer = `Execution ${mdCode(executionId)}${waves}${parts.map((p) => ` · ${p}`).join('')}`;
  return `${report.trimEnd()}\n\n<sub>${footer}</sub>\n`;
}
