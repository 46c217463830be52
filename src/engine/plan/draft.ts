import type { Dialect, Diagnostic, TaskStatus } from './schema.js';

/** Dependency text as written, with where it was written (for "could not read" diagnostics). */
export interface DependencyText {
  text: string;
  line: number;
  column: number;
}

/** A group a task sits in, as found by the dialect (heading or column). */
export interface GroupRef {
  id: string;
  title: string;
  line: number;
  /** Key of the heading section that defines it, or null for a table column value. */
  sectionIndex: number | null;
}

/** Where in the body each dialect writes status; write-back edits only these spans. */
export type TaskSource =
  | {
      dialect: 'seed';
      itemStart: number;
      /** `[ ]` / `[x]` span, if the item has a checkbox. */
      checkbox: { start: number; end: number } | null;
      /** End of the task's first paragraph: where a status mark goes. */
      textEnd: number;
      /** Start of an existing status mark (`✅ 1h 32min`), replaced rather than appended to. */
      markStart: number | null;
      /** End of the list that holds the item (the group's task list). */
      listEnd: number;
      sectionIndex: number;
    }
  | {
      dialect: 'table';
      /** The status cell's span between its pipes, or null when the table has no status column. */
      statusCell: { start: number; end: number } | null;
      /** With no status column: the title cell, where a seed-style mark is written instead. */
      titleCell: { start: number; end: number } | null;
      tableEnd: number;
      sectionIndex: number;
    }
  | {
      dialect: 'block';
      /** The status field's value span, or null when the block has none. */
      statusValue: { start: number; end: number } | null;
      /** Where to insert a status field when there is none: end of this line, with this prefix. */
      insertAfter: number;
      fieldPrefix: string;
      colonInsideBold: boolean;
      /** Existing `**Execution Report**:` value in the block, if any. */
      reportValue: { start: number; end: number } | null;
      sectionIndex: number;
    };

export interface TaskDraft {
  id: string | null;
  title: string;
  agents: string[];
  group: GroupRef | null;
  dependencies: DependencyText[];
  estimateHours: number | null;
  status: TaskStatus | null;
  statusLine: number | null;
  priority: string | null;
  branch: string | null;
  worktree: string | null;
  files: string[];
  criteria: string[];
  details: string[];
  dialect: Dialect;
  line: number;
  column: number;
  /** Body offset: document order. */
  order: number;
  source: TaskSource;
}

/** Extra facts about a task written elsewhere (a detail section, a second table). */
export interface Enrichment {
  agents: string[];
  dependencies: DependencyText[];
  estimateHours: number | null;
  status: TaskStatus | null;
  priority: string | null;
  branch: string | null;
  worktree: string | null;
  files: string[];
  criteria: string[];
  details: string[];
}

export function emptyEnrichment(): Enrichment {
  return {
    agents: [],
    dependencies: [],
    estimateHours: null,
    status: null,
    priority: null,
    branch: null,
    worktree: null,
    files: [],
    criteria: [],
    details: [],
  };
}

/** Fill what the definition left empty; never overwrite what it said. */
export function enrich(task: TaskDraft, extra: Enrichment): void {
  if (task.agents.length === 0) task.agents = extra.agents;
  task.dependencies.push(...extra.dependencies);
  task.estimateHours ??= extra.estimateHours;
  if (extra.status && (task.status === null || task.status === 'pending')) {
    task.status = extra.status;
  }
  task.priority ??= extra.priority;
  task.branch ??= extra.branch;
  task.worktree ??= extra.worktree;
  task.files = unique([...task.files, ...extra.files]);
  task.criteria = unique([...task.criteria, ...extra.criteria]);
  task.details.push(...extra.details);
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** What the dialect readers report besides tasks. */
export interface DialectContext {
  body: string;
  diagnostics: Diagnostic[];
  /** Agent names the plan mentions anywhere (rosters, fields), keyed by `agentKey`. */
  knownAgents: Map<string, string>;
}

export function warning(
  code: string,
  message: string,
  line: number,
  column: number,
  hint: string | null = null,
): Diagnostic {
  return { severity: 'warning', code, message, line, column, hint };
}
