import type { ExecutionState } from '../state/schema.js';
import { parsePlan } from '../plan/parse.js';
import type { Plan } from '../plan/schema.js';
import { writeBack, type PlanWriteBack } from '../plan/write-back.js';
import { git } from '../workspace/git-exec.js';
import { escapeRegExp } from '../regexp.js';

/** The plan with this execution's statuses, and what became of an edit made to it meanwhile. */
export interface PlanResolution {
  /** The new plan text; null when nothing can be written (then `error` says why). */
  text: string | null;
  error: string | null;
  /** What happened to an edit of the plan since the base (carried, dropped, left), in sentences. */
  notes: string[];
}

export interface ResolveInput {
  /** The plan's text at the execution's base commit (null: it was not committed there). */
  base: string | null;
  /** The plan's text where the statuses go (the integration branch, or the user's file). */
  current: string | null;
  plan: Plan;
  update: PlanWriteBack;
  /** Who changed it since the base, in words (`task 1.2`, `tasks 1.1, 1.2`, `someone`). */
  editors: string;
  /** Where it is (`MULTI_AGENT_PLAN.md on integration/group-1`), for the notes. */
  where: string;
  /**
   * When the edit cannot be carried: `drop` it (the statuses are written on the base text: the
   * integration branch, where agents' edits arrive) or `refuse` to write (the user's own file,
   * where the edit may be theirs and must not be lost).
   */
  otherwise: 'drop' | 'refuse';
  env?: Record<string, string>;
}

/**
 * The statuses are written from the plan as it was at the base, whatever an agent did to the plan
 * on its branch (ticked its own box, deleted or added a task): the tool decides what the plan
 * says about this execution, not the agents. An edit that leaves every task and group as they were
 * (notes, typos elsewhere) is carried: the statuses are written on the edited text; any other is
 * dropped (or, in the user's file, the plan is left alone) — and the notes say which.
 */
export async function resolvePlan(input: ResolveInput): Promise<PlanResolution> {
  const { base, current, plan, update } = input;
  if (base === null) {
    // Not committed at the base (a plan outside git): only the current text can be used.
    if (current === null) return fail(`${input.where} is gone; nothing written back`);
    return attempt(() => writeBack(current, plan, update), []);
  }
  const statusBase = attempt(() => writeBack(base, plan, update), []);
  if (statusBase.text === null || current === base) return statusBase;
  if (current === null) {
    return input.otherwise === 'drop'
      ? withNote(
          statusBase,
          `${input.editors} deleted ${input.where}; it was put back, with the statuses`,
        )
      : fail(`${input.where} is gone; nothing written back`);
  }
  const edit = describeEdit(base, current);
  const touched = touchedTasks(base, current);
  if (touched === null) {
    // Every task reads as at the base: the statuses can go on the edited text itself.
    const carried = attempt(() => writeBack(current, plan, update), []);
    if (carried.text !== null) {
      return withNote(
        carried,
        `${input.editors} edited ${input.where} (${edit}); the edit touches no task and was kept`,
      );
    }
  }
  const why = touched ?? 'the statuses could not be written on it';
  if (input.otherwise === 'refuse') {
    return fail(
      `${input.where} was edited since the base by ${input.editors} (${edit}) and ${why}; ` +
        'the statuses were not written, so that edit is not lost (see the report for them)',
    );
  }
  return withNote(
    statusBase,
    `${input.editors} edited ${input.where} (${edit}); the edit was dropped because ${why}, and the statuses were written on the plan as it was at the base`,
  );
}

function attempt(make: () => string, notes: string[]): PlanResolution {
  try {
    return { text: make(), error: null, notes };
  } catch (error) {
    return fail(`the plan could not be updated: ${(error as Error).message}`);
  }
}

function fail(error: string): PlanResolution {
  return { text: null, error, notes: [] };
}

function withNote(resolution: PlanResolution, note: string): PlanResolution {
  return { ...resolution, notes: [...resolution.notes, note] };
}

/**
 * Null when the two texts have the same tasks and groups but for their statuses (all a write-back
 * changes in them); else what differs. A later wave runs the tasks as the plan on the integration
 * branch writes them, so the publish job checks it with this before pushing that branch.
 */
export function tasksChangedBeyondStatuses(base: string, edited: string): string | null {
  return touchedTasks(base, edited, false);
}

/** Null when the plan's tasks and groups read the same in both texts; else what differs. */
function touchedTasks(base: string, edited: string, withStatus = true): string | null {
  const before = parsePlan(base).plan;
  const after = parsePlan(edited).plan;
  const meaning = (task: Plan['tasks'][number]) => taskMeaning(task, withStatus);
  const ids = (p: Plan) => p.tasks.map((task) => task.id);
  const added = ids(after).filter((id) => !ids(before).includes(id));
  const removed = ids(before).filter((id) => !ids(after).includes(id));
  if (added.length > 0) return `it adds task(s) ${added.join(', ')}`;
  if (removed.length > 0) return `it removes task(s) ${removed.join(', ')}`;
  const changed = before.tasks
    .filter((task) => {
      const other = after.tasks.find((candidate) => candidate.id === task.id)!;
      return JSON.stringify(meaning(task)) !== JSON.stringify(meaning(other));
    })
    .map((task) => task.id);
  if (changed.length > 0) return `it changes task(s) ${changed.join(', ')}`;
  const groups = (p: Plan) =>
    JSON.stringify(
      p.groups.map(({ id, title, dependsOn, status }) => ({
        id,
        title,
        dependsOn,
        ...(withStatus ? { status } : {}),
      })),
    );
  if (groups(before) !== groups(after)) return 'it changes the groups';
  return null;
}

/** What a task says, without where it is written (and without its status, unless asked). */
function taskMeaning(task: Plan['tasks'][number], withStatus: boolean): unknown {
  const { line: _line, column: _column, statusLine: _statusLine, status, ...rest } = task;
  return withStatus ? { ...rest, status } : rest;
}

/** A short account of a line edit: what was removed and added. */
export function describeEdit(before: string, after: string): string {
  const count = (lines: string[]) => {
    const counts = new Map<string, number>();
    for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
    return counts;
  };
  const a = before.split(/\r?\n/);
  const b = after.split(/\r?\n/);
  const inA = count(a);
  const inB = count(b);
  const only = (lines: string[], mine: Map<string, number>, theirs: Map<string, number>) => {
    const left = new Map(theirs);
    return lines.filter((line) => {
      if (line.trim() === '') return false;
      const n = left.get(line) ?? 0;
      if (n > 0) {
        left.set(line, n - 1);
        return false;
      }
      return mine.has(line);
    });
  };
  const removed = only(a, inA, inB);
  const added = only(b, inB, inA);
  const show = (lines: string[]) =>
    lines
      .slice(0, 3)
      .map((line) => JSON.stringify(line.trim().slice(0, 70)))
      .join(', ') + (lines.length > 3 ? ` and ${lines.length - 3} more` : '');
  const parts = [
    ...(removed.length > 0 ? [`removed ${show(removed)}`] : []),
    ...(added.length > 0 ? [`added ${show(added)}`] : []),
  ];
  return parts.join('; ') || 'whitespace only';
}

/** The plan file's text at a commit, or null when it is not there. */
export async function planAt(
  repoRoot: string,
  commit: string,
  planFile: string,
  env?: Record<string, string>,
): Promise<string | null> {
  const shown = await git(repoRoot, ['show', `${commit}:${planFile}`], {
    env,
    allowExitCodes: [128],
  });
  return shown.exitCode === 0 ? shown.stdout : null;
}

/** The tasks whose own commits changed the plan file (their branch since their start). */
export async function planEditors(
  state: ExecutionState,
  planFile: string,
  taskIds: readonly string[],
  env?: Record<string, string>,
): Promise<string[]> {
  const editors: string[] = [];
  for (const id of taskIds) {
    const run = state.tasks[id];
    if (run?.start_sha == null || run.head_sha === null) continue;
    const diff = await git(
      state.repo_root,
      ['diff', '--quiet', run.start_sha, run.head_sha, '--', `:(top,literal)${planFile}`],
      { env, allowExitCodes: [1, 128] },
    );
    if (diff.exitCode === 1) editors.push(id);
  }
  return editors;
}

export interface BranchPlanInput {
  state: ExecutionState;
  plan: Plan;
  update: PlanWriteBack;
  /** Repository-relative, with `/`. */
  planFile: string;
  /** The local branch the statuses go on. */
  branch: string;
  /** Its name in the notes, when that is not the local one (the Action pushes it under another). */
  shownAs?: string;
  env?: Record<string, string>;
}

/**
 * The plan for the integration branch, for every shell: the statuses written on the plan as it was
 * at the base, with the agents' edit of it (merged there with their work) carried or dropped. A
 * task whose edit it was gets a warning naming it (the report shows it).
 */
export async function planForBranch(input: BranchPlanInput): Promise<PlanResolution> {
  const { state, planFile, env } = input;
  const repoRoot = state.repo_root;
  const editors = await planEditors(state, planFile, state.integration?.merged ?? [], env);
  const resolution = await resolvePlan({
    base: await planAt(repoRoot, state.base_sha, planFile, env),
    current: await planAt(repoRoot, `refs/heads/${input.branch}`, planFile, env),
    plan: input.plan,
    update: input.update,
    editors: editorsText(editors),
    where: `${planFile} on ${input.shownAs ?? input.branch}`,
    otherwise: 'drop',
    ...(env === undefined ? {} : { env }),
  });
  for (const id of editors) {
    const run = state.tasks[id]!;
    // Written back again (a resume, another integration branch): the new notes replace the old.
    const earlier = (run.warnings ?? []).filter((warning) => !isPlanEditNote(warning, planFile));
    run.warnings = [...new Set([...earlier, ...resolution.notes])];
  }
  return resolution;
}

/** A note planForBranch wrote on a task about its edit of `planFile` on an integration branch. */
function isPlanEditNote(warning: string, planFile: string): boolean {
  const editors = /^(?:tasks? \S+(?:, \S+)*|a merge)/.source;
  return new RegExp(`${editors} (?:edited|deleted) ${escapeRegExp(planFile)} on `).test(warning);
}

/** `task 1.2`, `tasks 1.1, 1.2`, or `a merge` when no task's own commits changed it. */
export function editorsText(ids: readonly string[]): string {
  if (ids.length === 0) return 'a merge';
  return ids.length === 1 ? `task ${ids[0]}` : `tasks ${ids.join(', ')}`;
}
