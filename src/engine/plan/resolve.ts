import { addKnownAgent, type GroupHeading } from './context.js';
import {
  parseDependencyText,
  type DependencyScope,
  type ParsedDependencies,
} from './dependencies.js';
import { unique, warning, type DialectContext, type GroupRef, type TaskDraft } from './draft.js';
import { agentKey } from './agent-names.js';
import { fieldMap, fieldsOf } from './fields.js';
import { generatedId } from './ids.js';
import { didYouMean } from './near-ids.js';
import type { Section } from './outline.js';
import type { Group, Plan, Task, TaskStatus } from './schema.js';

/** A group as the parser assembles it, with what write-back needs to edit its heading. */
export interface GroupBuild {
  id: string;
  title: string;
  line: number;
  sectionIndex: number | null;
  explicit: boolean;
  headingStatus: TaskStatus | null;
  dependencies: { text: string; line: number; column: number } | null;
  after: string | null;
  durationText: string | null;
  criteria: string[];
  /** Indexes into the plan's tasks. */
  tasks: number[];
  durationValue: { start: number; end: number } | null;
  reportValue: { start: number; end: number } | null;
}

interface ResolveInput {
  title: string | null;
  drafts: TaskDraft[];
  sections: Section[];
  groupHeadings: ReadonlyMap<number, GroupHeading>;
  groupRefs: ReadonlyMap<number, GroupRef>;
  context: DialectContext;
}

const DEPENDENCY_HINT =
  'Write task ids (T1, T3), a range (T1-T4), "Group 2 complete", "All previous" or "None".';

/** Groups, generated ids and dependencies: the parts that need the whole plan. */
export function resolvePlan(input: ResolveInput): { plan: Plan; groups: GroupBuild[] } {
  const groups = buildGroups(input);
  const { drafts } = input;
  // `Builder-1` and `builder-1` are one agent: every task gets the plan's first spelling.
  const spellings = new Map(input.context.knownAgents);
  for (const draft of drafts) for (const name of draft.agents) addKnownAgent(spellings, name);
  const spelling = (name: string) => spellings.get(agentKey(name)) ?? name;
  for (const group of groups) {
    for (const index of group.tasks) {
      const draft = drafts[index]!;
      if (group.headingStatus === 'completed' && (draft.status ?? 'pending') === 'pending') {
        draft.status = 'completed';
      }
    }
  }
  const ids = assignIds(drafts, groups);
  const titles = new Map(ids.map((id, index) => [id, drafts[index]!.title] as const).reverse());
  const groupTitles = groups.map((group) => ({ id: group.id, title: group.title }));
  const scope = (selfId: string | null, selfGroup: string | null): DependencyScope => ({
    ids,
    titles,
    groups: groupTitles,
    selfId,
    selfGroup,
  });
  const groupDeps = groups.map((group) =>
    groupDependencies(group, groups, scope(null, group.id), input.context),
  );
  const tasks: Task[] = drafts.map((draft, index) => {
    const ownGroup = draft.group ? groups.findIndex((group) => group.id === draft.group!.id) : -1;
    const dependsOn = taskDependencies(
      draft,
      index,
      ids,
      ownGroup,
      groups,
      groupDeps,
      scope,
      input.context,
    );
    return {
      id: ids[index]!,
      idGenerated: draft.id === null,
      title: draft.title,
      agents: unique(draft.agents.map((name) => spelling(name))),
      group: draft.group?.id ?? null,
      dependsOn,
      estimateHours: draft.estimateHours,
      status: draft.status ?? 'pending',
      priority: draft.priority,
      branch: draft.branch,
      worktree: draft.worktree,
      files: unique(draft.files.map((file) => file.trim()).filter((file) => file !== '')),
      criteria: unique(draft.criteria),
      details: draft.details.join('\n'),
      dialect: draft.dialect,
      line: draft.line,
      column: draft.column,
      statusLine: draft.statusLine,
    };
  });
  const planGroups: Group[] = groups.map((group, index) => ({
    id: group.id,
    title: group.title,
    dependsOn: groupDeps[index]!,
    dependenciesText: group.dependencies?.text ?? null,
    durationText: group.durationText,
    status: groupStatus(group, tasks),
    line: group.line,
    criteria: group.criteria,
  }));
  return { plan: { title: input.title, groups: planGroups, tasks }, groups };
}

function buildGroups(input: ResolveInput): GroupBuild[] {
  const { drafts, sections, groupHeadings, context } = input;
  const byId = new Map<string, GroupBuild>();
  const used = new Set(
    drafts.map((draft) => draft.group?.sectionIndex).filter((index) => index != null),
  );
  for (const [sectionIndex, heading] of groupHeadings) {
    if (!heading.explicit && !used.has(sectionIndex)) continue;
    const section = sections[sectionIndex]!;
    const fields = fieldMap(fieldsOf(section.own, context.body));
    const deps = fields.get('dependencies');
    const duration = fields.get('duration') ?? fields.get('estimate');
    const report = fields.get('report');
    const criteria = fields.get('criteria');
    const build: GroupBuild = {
      id: heading.id,
      title: heading.title,
      line: section.heading?.position?.start.line ?? 1,
      sectionIndex,
      explicit: heading.explicit,
      headingStatus: heading.status,
      dependencies: deps ? { text: deps.text, line: deps.line, column: deps.column } : null,
      after: heading.after,
      durationText: duration ? duration.text.split(/\s*→/u)[0]!.trim() || null : null,
      criteria: criteria ? [...(criteria.text ? [criteria.text] : []), ...criteria.items] : [],
      tasks: [],
      durationValue: duration ? { start: duration.valueStart, end: duration.valueEnd } : null,
      reportValue: report ? { start: report.valueStart, end: report.valueEnd } : null,
    };
    if (!byId.has(build.id)) byId.set(build.id, build);
  }
  drafts.forEach((draft, index) => {
    if (!draft.group) return;
    let build = byId.get(draft.group.id);
    if (!build) {
      build = emptyGroup(draft.group);
      byId.set(build.id, build);
    }
    build.tasks.push(index);
  });
  return [...byId.values()].sort((a, b) => a.line - b.line);
}

function emptyGroup(ref: GroupRef): GroupBuild {
  return {
    id: ref.id,
    title: ref.title,
    line: ref.line,
    sectionIndex: ref.sectionIndex,
    explicit: false,
    headingStatus: null,
    dependencies: null,
    after: null,
    durationText: null,
    criteria: [],
    tasks: [],
    durationValue: null,
    reportValue: null,
  };
}

/**
 * Ids for tasks the plan does not number (see `generatedId`), never clashing with a written one.
 * Returns the ids parallel to `drafts`.
 */
function assignIds(drafts: TaskDraft[], groups: GroupBuild[]): string[] {
  const taken = new Set(drafts.map((draft) => draft.id).filter((id): id is string => id !== null));
  const positions = new Map<number, number>();
  for (const group of groups)
    group.tasks.forEach((index, position) => positions.set(index, position + 1));
  let ungrouped = 0;
  return drafts.map((draft, index) => {
    if (draft.id !== null) return draft.id;
    const position = draft.group ? positions.get(index)! : (ungrouped += 1);
    let id = generatedId(draft.group?.id ?? null, position);
    for (let suffix = 2; taken.has(id); suffix += 1)
      id = `${generatedId(draft.group?.id ?? null, position)}-${suffix}`;
    taken.add(id);
    return id;
  });
}

/** Group ids a group waits for: its `**Dependencies**:` line and an `(After Phase 1)` heading. */
function groupDependencies(
  group: GroupBuild,
  groups: GroupBuild[],
  scope: DependencyScope,
  context: DialectContext,
): string[] {
  const texts = [
    ...(group.dependencies ? [group.dependencies] : []),
    ...(group.after ? [{ text: group.after, line: group.line, column: 1 }] : []),
  ];
  const order = groups.indexOf(group);
  const result: string[] = [];
  for (const text of texts) {
    const parsed = parseDependencyText(text.text, scope);
    reportUnresolved(parsed, text, context);
    reportSelfAndUnknownGroups(`group ${group.id}`, parsed, text, scope.groups, context);
    result.push(...parsed.groups);
    if (parsed.allPreviousGroups || parsed.allPrevious) {
      result.push(...groups.slice(0, order).map((previous) => previous.id));
    }
    // A group that waits for tasks waits for their groups.
    for (const id of parsed.ids) {
      const owner = groups.find((g) => g.tasks.some((index) => scope.ids[index] === id));
      if (owner && owner !== group) result.push(owner.id);
    }
  }
  return unique(result).filter((id) => id !== group.id);
}

function taskDependencies(
  draft: TaskDraft,
  index: number,
  ids: string[],
  ownGroup: number,
  groups: GroupBuild[],
  groupDeps: string[][],
  scope: (selfId: string | null, selfGroup: string | null) => DependencyScope,
  context: DialectContext,
): string[] {
  const self = ids[index]!;
  const result: string[] = [];
  const tasksOf = (groupId: string) =>
    groups.find((group) => group.id === groupId)?.tasks.map((task) => ids[task]!) ?? [];
  for (const text of draft.dependencies) {
    const parsed = parseDependencyText(text.text, scope(self, draft.group?.id ?? null));
    reportUnresolved(parsed, text, context);
    reportSelfAndUnknownGroups(`task ${self}`, parsed, text, scope(self, null).groups, context);
    result.push(...parsed.ids);
    for (const group of parsed.groups) result.push(...tasksOf(group));
    if (parsed.allPrevious) result.push(...ids.slice(0, index));
    if (parsed.allPreviousGroups) {
      const before =
        ownGroup === -1
          ? groups.filter((group) => group.line < draft.line)
          : groups.slice(0, ownGroup);
      for (const group of before) result.push(...tasksOf(group.id));
    }
  }
  if (ownGroup !== -1) {
    for (const group of groupDeps[ownGroup]!) result.push(...tasksOf(group));
  }
  return unique(result).filter((id) => id !== self);
}

function reportUnresolved(
  parsed: ParsedDependencies,
  where: { line: number; column: number },
  context: DialectContext,
): void {
  for (const clause of parsed.unresolved) {
    context.diagnostics.push(
      warning(
        'dependency-not-understood',
        `could not read "${clause}" as a dependency; it is ignored`,
        where.line,
        where.column,
        DEPENDENCY_HINT,
      ),
    );
  }
  for (const { text, ids } of parsed.misspelled) {
    context.diagnostics.push({
      severity: 'error',
      code: 'dependency-misspelled',
      message: `"${text}" is not a task id in this plan; ${didYouMean(ids)}`,
      line: where.line,
      column: where.column,
      hint: 'Write the id as the plan spells it. Free text goes in words ("after the API is done") or in parentheses.',
    });
  }
}

/** A dependency on itself, or on a group the plan does not have: errors naming what exists. */
function reportSelfAndUnknownGroups(
  subject: string,
  parsed: ParsedDependencies,
  where: { line: number; column: number },
  groups: DependencyScope['groups'],
  context: DialectContext,
): void {
  if (parsed.selfReference) {
    context.diagnostics.push({
      severity: 'error',
      code: 'self-dependency',
      message: `${subject} depends on itself`,
      line: where.line,
      column: where.column,
      hint: 'Remove it from its own dependencies.',
    });
  }
  const names = groups.map((group) => group.id).join(', ') || 'none';
  for (const name of parsed.unknownGroups) {
    context.diagnostics.push({
      severity: 'error',
      code: 'unknown-group',
      message: `${subject} depends on group ${name}, which does not exist (groups: ${names})`,
      line: where.line,
      column: where.column,
      hint: 'Name an existing group, or the tasks themselves by id.',
    });
  }
}

/** A group is as done as its tasks, unless its heading says so. */
function groupStatus(group: GroupBuild, tasks: Task[]): TaskStatus {
  if (group.headingStatus) return group.headingStatus;
  const statuses = group.tasks.map((index) => tasks[index]!.status);
  if (statuses.length === 0) return 'pending';
  if (statuses.every((status) => status === 'completed' || status === 'skipped'))
    return 'completed';
  if (statuses.some((status) => status === 'failed')) return 'failed';
  if (statuses.some((status) => status !== 'pending')) return 'in_progress';
  return 'pending';
}
