import { z } from 'zod';

/** Where a plan's task was written down; write-back and diagnostics use it. */
export const Dialect = z.enum(['seed', 'table', 'block']);
export type Dialect = z.infer<typeof Dialect>;

export const TaskStatus = z.enum([
  'pending',
  'in_progress',
  'blocked',
  'review',
  'completed',
  'failed',
  'skipped',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** 1-based line and column in the plan file, as editors and GitHub annotations count them. */
export const SourcePosition = z.object({
  line: z.number().int().positive(),
  column: z.number().int().positive(),
});
export type SourcePosition = z.infer<typeof SourcePosition>;

export const Task = z.object({
  /** As written, without a `Task ` prefix (`1.1`, `T-001`, `TASK_003`); generated and stable when absent. */
  id: z.string().min(1),
  idGenerated: z.boolean(),
  title: z.string(),
  /** Agent names as written (`Builder-1`, `All`); the first one leads. */
  agents: z.array(z.string()),
  /** The group's id as written (`2`, `A`), or null. */
  group: z.string().nullable(),
  /** Task ids, after expanding groups, ranges and "all above". */
  dependsOn: z.array(z.string()),
  /** Hours; a day is 8 working hours (`2d` = 16). */
  estimateHours: z.number().nonnegative().nullable(),
  status: TaskStatus,
  priority: z.string().nullable(),
  branch: z.string().nullable(),
  worktree: z.string().nullable(),
  files: z.array(z.string()),
  criteria: z.array(z.string()),
  /** Free text the plan gives about the task beyond its title (detail sections, descriptions). */
  details: z.string(),
  dialect: Dialect,
  line: z.number().int().positive(),
  column: z.number().int().positive(),
  /**
   * Where the task's status is written (checkbox line, status cell or status field), so a shell can
   * annotate it; absent on plans built by hand. write-back re-reads exact offsets from the text.
   */
  statusLine: z.number().int().positive().nullable().optional(),
});
export type Task = z.infer<typeof Task>;

export const Group = z.object({
  id: z.string(),
  title: z.string(),
  /** Group ids this group waits for, as resolved from its dependency text. */
  dependsOn: z.array(z.string()),
  dependenciesText: z.string().nullable(),
  durationText: z.string().nullable(),
  status: TaskStatus,
  line: z.number().int().positive(),
  /** Success criteria written for the whole group (a milestone checklist); they count for its tasks. */
  criteria: z.array(z.string()).optional(),
});
export type Group = z.infer<typeof Group>;

export const Plan = z.object({
  title: z.string().nullable(),
  groups: z.array(Group),
  tasks: z.array(Task),
});
export type Plan = z.infer<typeof Plan>;

export const Diagnostic = z.object({
  severity: z.enum(['error', 'warning']),
  /** Stable, kebab-case: `no-tasks`, `unknown-dependency`, `dependency-cycle`, … */
  code: z.string(),
  message: z.string(),
  line: z.number().int().positive(),
  column: z.number().int().positive(),
  hint: z.string().nullable(),
  /** The file the finding is in when it is not the plan itself (an agent definition). */
  file: z.string().optional(),
});
export type Diagnostic = z.infer<typeof Diagnostic>;
