/**
 * The live dashboard comment: the engine's Markdown dashboard under two hidden lines — the marker
 * that finds it again and the lock that says which execution it shows and whether it still runs.
 */
import { z } from 'zod';
import { renderDashboardMarkdown } from '../../engine/monitor/dashboard.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { commentMarker } from '../../forge/markers.js';
import { COMMAND_PREFIX } from '../../forge/comment-command.js';
import { hiddenData, readHiddenData } from './hidden-data.js';
import { DASHBOARD_MARKER_KEY, SUMMARY_CHECK_NAME } from './names.js';

export const DashboardLock = z.object({
  execution: z.string(),
  /** `starting` until the workflow is dispatched; `finished` frees the PR for the next run. */
  status: z.enum(['starting', 'running', 'finished']),
  sha: z.string(),
  run: z.number().int().nullable(),
  startedAt: z.string(),
});
export type DashboardLock = z.infer<typeof DashboardLock>;

export const DASHBOARD_MARKER = commentMarker(DASHBOARD_MARKER_KEY);
const LOCK_KEY = 'lock';

/**
 * The lock where dashboardBody writes it: the line under the marker that opens the comment. One
 * anywhere else is text the comment shows (a report quoting what a job uploaded), not the app's.
 */
export function readLock(body: string): DashboardLock | null {
  const [first, second] = body.split(/\r?\n/, 2);
  if (first !== DASHBOARD_MARKER || second === undefined) return null;
  return readHiddenData(second, LOCK_KEY, DashboardLock);
}

export interface DashboardLinks {
  runUrl: string | null;
  note?: string | null;
  /** `Wave 2 of 3` while a multi-wave execution runs. */
  wave?: string | null;
}

export function dashboardBody(
  lock: DashboardLock,
  state: ExecutionState,
  links: DashboardLinks,
  now: Date,
): string {
  const footer = [
    ...(links.wave ? [links.wave] : []),
    links.runUrl ? `[Workflow run](${links.runUrl})` : 'Workflow run: not started yet',
    `Checks: **${SUMMARY_CHECK_NAME}** and one per task`,
    lock.status === 'finished'
      ? `Start again: \`${COMMAND_PREFIX}\``
      : `\`${COMMAND_PREFIX} status\` · \`${COMMAND_PREFIX} cancel\``,
  ].join(' · ');
  return [
    DASHBOARD_MARKER,
    hiddenData(LOCK_KEY, lock),
    renderDashboardMarkdown(state, { now }).trimEnd(),
    '',
    ...(links.note ? [links.note, ''] : []),
    `<sub>${footer}</sub>`,
  ].join('\n');
}

/** The comment a second `/parallel-run` gets while an execution runs. */
export function busyText(holder: { url: string; lock: DashboardLock }): string {
  return [
    `⏳ An execution is already running on this pull request ([\`${holder.lock.execution}\`](${holder.url})), so no second one was started.`,
    '',
    `Wait for it to finish, or stop it with \`${COMMAND_PREFIX} cancel\`.`,
  ].join('\n');
}
