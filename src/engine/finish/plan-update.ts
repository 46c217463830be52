import { posix } from 'node:path';
import type { ExecutionState, TaskRun } from '../state/schema.js';
import type { PlanWriteBack } from '../plan/write-back.js';
import type { Plan } from '../plan/schema.js';
import { parsePlan } from '../plan/parse.js';
import { writeBack } from '../plan/write-back.js';
import type { NextGroup } from '../report/next-steps.js';
import { changedNothing, deniedCalls, integrationFate } from '../report/outcome.js';
import { taskDurationMs } from '../report/outcome.js';
import { shortReason } from '../short-reason.js';
import { VALIDATION_FAILED } from '../validate/failure-reason.js';
import { AUDIT_NOT_RUN } from '../validate/checks/security.js';

const NOTE_MAX = 90;

/**
 * What the plan should say after this execution (the seed's Step 5.3): each task's outcome as it
 * landed — a task whose work did not reach the integration branch is not completed, whatever its
 * agent did — with its actual time, each group that is now wholly done, and the report's link.
 * Cancelled or unfinished tasks are left as the plan has them. Pure.
 */
export function planUpdate(
  state: ExecutionState,
  plan: Plan,
  reportLink: string | null,
): PlanWriteBack {
  const tasks: PlanWriteBack['tasks'] = [];
  for (const id of state.task_order) {
    const run = state.tasks[id]!;
    const update = taskUpdate(run, state);
    if (update !== null) tasks.push(update);
  }
  // A task that changed nothing merged as a no-op: it does not complete its group.
  const merged = new Set(
    (state.integration?.merged ?? []).filter((id) => {
      const run = state.tasks[id];
      return run === undefined || !changedNothing(run);
    }),
  );
  const groups: NonNullable<PlanWriteBack['groups']> = [];
  for (const group of plan.groups) {
    const runs = state.task_order
      .map((id) => state.tasks[id]!)
      .filter((run) => run.group === group.id);
    if (runs.length === 0) continue;
    const completed = plan.tasks
      .filter((task) => task.group === group.id)
      .every((task) => task.status === 'completed' || merged.has(task.id));
    if (!completed) continue;
    groups.push({ id: group.id, completed: true, ...spanOf(runs) });
  }
  return { tasks, groups, ...(reportLink === null ? {} : { reportPath: reportLink }) };
}

/**
 * `text` (a plan as a person committed it) with the execution's statuses written on it, and
 * nothing else: what the integrate job commits on the integration branch when no agent edited the
 * plan, computed without reading anything an agent or an agent's test could have written. Throws
 * when the statuses cannot be written on it (a task of the state is not in it).
 */
export function planWithStatuses(text: string, state: ExecutionState, planFile: string): string {
  const plan = parsePlan(text).plan;
  const link = state.report_path === null ? null : reportLinkFrom(planFile, state.report_path);
  return writeBack(text, plan, planUpdate(state, plan, link));
}

function taskUpdate(run: TaskRun, state: ExecutionState): PlanWriteBack['tasks'][number] | null {
  const id = run.task_id;
  const duration = taskDurationMs(run);
  const actual = duration === null ? {} : { actualMs: duration };
  if (run.status === 'failed') return { id, outcome: 'failed', note: failedNote(run.reason ?? '') };
  if (run.status === 'skipped') {
    return { id, outcome: 'skipped', note: short(`Skipped: ${run.reason ?? 'not run'}`) };
  }
  if (run.status !== 'completed') return null;
  const fate = integrationFate(id, state.integration);
  if (fate.kind === 'conflict') {
    const other = fate.with.length > 0 ? ` with task ${fate.with.join(', ')}` : '';
    const files = fate.files.length > 0 ? ` in ${fate.files.join(', ')}` : '';
    return { id, outcome: 'failed', note: short(`not integrated: merge conflict${other}${files}`) };
  }
  if (fate.kind === 'dropped') {
    return { id, outcome: 'failed', note: short(`not integrated: ${fate.reason}`) };
  }
  // Also when integration did not finish (state.integration null): the work landed nowhere.
  if (fate.kind === 'not-integrated') return null;
  // Nothing was done: the plan keeps the task open (the report says why).
  if (changedNothing(run)) return null;
  if (run.validation?.status === 'COMPLETE_WITH_WARNINGS') {
    const checks = run.validation.checks.filter((c) => !c.passed && !c.skipped);
    // An audit that could not run (a registry down) found nothing wrong: it is not "failed".
    const unrun = (c: (typeof checks)[number]) => c.failure?.startsWith(AUDIT_NOT_RUN) === true;
    const failed = checks.filter((c) => !unrun(c)).map((c) => c.name);
    const notRun = checks.filter(unrun).map((c) => c.name);
    const notes = [
      ...(failed.length > 0 ? [`${failed.join(', ')} failed`] : []),
      ...(notRun.length > 0 ? [`${notRun.join(', ')} could not run`] : []),
    ];
    return { id, outcome: 'warnings', note: notes.join('; '), ...actual };
  }
  const denied = deniedCalls(run);
  if (denied.length > 0) {
    return {
      id,
      outcome: 'warnings',
      note: short(`tool calls denied: ${denied.join('; ')}`),
      ...actual,
    };
  }
  return { id, outcome: 'completed', ...actual };
}

/** From the first start to the last finish of the group's tasks in this execution. */
function spanOf(runs: readonly TaskRun[]): { actualMs?: number } {
  const starts = runs.flatMap((run) =>
    run.started_at === null ? [] : [Date.parse(run.started_at)],
  );
  const ends = runs.flatMap((run) =>
    run.finished_at === null ? [] : [Date.parse(run.finished_at)],
  );
  if (starts.length === 0 || ends.length === 0) return {};
  return { actualMs: Math.max(0, Math.max(...ends) - Math.min(...starts)) };
}

/** Which checks failed, not what they printed (that is in the report); else the reason's end. */
function failedNote(reason: string): string {
  if (reason.startsWith(VALIDATION_FAILED)) return short(reason.split('; ')[0]!);
  return shortReason(reason, NOTE_MAX);
}

function short(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > NOTE_MAX ? `${line.slice(0, NOTE_MAX - 1)}…` : line;
}

/** The report's link as written in the plan: relative to the plan's folder, with `/`. */
export function reportLinkFrom(planFile: string, reportPath: string): string {
  const link = posix.relative(posix.dirname(toPosix(planFile)), toPosix(reportPath));
  return link === '' ? posix.basename(reportPath) : link;
}

function toPosix(path: string): string {
  return path.split('\\').join('/');
}

/**
 * The group to run next, for the report's "Next Steps": after a fully integrated group, the next
 * group in the plan that still has work. None after `--group all` (everything ran) or a failure.
 */
export function nextGroupOf(state: ExecutionState, plan: Plan): NextGroup | null {
  if (state.parallel_group === 'all' || state.status !== 'completed') return null;
  const index = plan.groups.findIndex((group) => group.id === state.parallel_group);
  if (index === -1) return null;
  const ran = new Set(state.task_order);
  const next = plan.groups
    .slice(index + 1)
    .find((group) =>
      plan.tasks.some(
        (task) => task.group === group.id && task.status !== 'completed' && !ran.has(task.id),
      ),
    );
  return next === undefined ? null : { id: next.id, title: next.title };
}
