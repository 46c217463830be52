import { LIMIT_CODES } from './limits.js';
import { findCycle } from './cycle.js';
import { findAgentDefinition, type AgentDefinition } from './agents.js';
import { didYouMean, nearIds } from './near-ids.js';
import type { Diagnostic, Plan, Task } from './schema.js';

export interface ValidateOptions {
  /** Definitions from `.claude/agents/`; null or absent when the directory does not exist. */
  agentDefinitions?: AgentDefinition[] | null;
}

const KNOWN_DIALECTS =
  'Parallel Group task lines ("- [ ] 2.1: Implement JWT service (Builder-1, 6h)"), ' +
  'task tables (a GFM table with an ID column and a Task/Title column) and ' +
  'task blocks ("### Task: …" or "### TASK_003: …" followed by "**Agent**: …")';

/**
 * A parse's findings, then the plan's (`validatePlan`). A plan beyond the parser's limits was not
 * read: its one finding says so, not also "no tasks found".
 */
export function planDiagnostics(
  parsed: { plan: Plan; diagnostics: readonly Diagnostic[] },
  options: ValidateOptions = {},
): Diagnostic[] {
  const unread = parsed.diagnostics.some((d) => LIMIT_CODES.has(d.code));
  return [...parsed.diagnostics, ...(unread ? [] : validatePlan(parsed.plan, options))];
}

/**
 * The seed's Phase 1 checks, as diagnostics with the plan line to fix. Tasks already completed
 * or skipped are not held to the rules for work still to run (agent, criteria, file claims).
 */
export function validatePlan(plan: Plan, options: ValidateOptions = {}): Diagnostic[] {
  if (plan.tasks.length === 0) {
    return [
      error(
        'no-tasks',
        `no tasks found; the parser knows ${KNOWN_DIALECTS}`,
        1,
        1,
        'See "Plans it reads" in the README for the plan shapes parallel-executor reads.',
      ),
    ];
  }
  const diagnostics = [
    ...duplicateIds(plan.tasks),
    ...missingAgents(plan.tasks),
    ...unknownDependencies(plan.tasks),
    ...cycles(plan.tasks),
    ...emptyGroups(plan),
    ...missingCriteria(plan),
    ...fileConflicts(plan.tasks),
    ...groupsNotWaiting(plan),
    ...(options.agentDefinitions ? unknownAgents(plan.tasks, options.agentDefinitions) : []),
  ];
  return diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
}

function runnable(task: Task): boolean {
  return task.status !== 'completed' && task.status !== 'skipped';
}

function duplicateIds(tasks: Task[]): Diagnostic[] {
  const first = new Map<string, Task>();
  const found: Diagnostic[] = [];
  for (const task of tasks) {
    const earlier = first.get(task.id);
    if (!earlier) {
      first.set(task.id, task);
      continue;
    }
    found.push(
      error(
        'duplicate-id',
        `task id "${task.id}" is used twice (first at line ${earlier.line})`,
        task.line,
        task.column,
        'Give every task its own id; dependencies and branches are named after it.',
      ),
    );
  }
  return found;
}

function missingAgents(tasks: Task[]): Diagnostic[] {
  return tasks
    .filter((task) => runnable(task) && task.agents.length === 0)
    .map((task) =>
      error(
        'missing-agent',
        `task ${task.id} "${task.title}" has no agent`,
        task.line,
        task.column,
        task.dialect === 'table'
          ? 'Add an Agent (or Owner) column and fill it in for this row.'
          : task.dialect === 'block'
            ? 'Add a line "**Agent**: Builder-1" under the task heading.'
            : 'Name the agent at the end of the line: "(Builder-1, 4h)".',
      ),
    );
}

function unknownDependencies(tasks: Task[]): Diagnostic[] {
  const ids = new Set(tasks.map((task) => task.id));
  // One close id is worth naming (`T11` → T1); several (`T9` → T1…T5) are the known ids below.
  const suggestion = (dep: string) => {
    const near = nearIds(dep, [...ids]);
    return near.length === 1 ? `; ${didYouMean(near)}` : '';
  };
  return tasks.flatMap((task) =>
    task.dependsOn
      .filter((dep) => !ids.has(dep))
      .map((dep) =>
        error(
          'unknown-dependency',
          `task ${task.id} depends on "${dep}", which is not a task in this plan${suggestion(dep)}`,
          task.line,
          task.column,
          `Known ids: ${[...ids].slice(0, 12).join(', ')}${ids.size > 12 ? ', …' : ''}.`,
        ),
      ),
  );
}

function cycles(tasks: Task[]): Diagnostic[] {
  const cycle = findCycle(tasks);
  if (!cycle) return [];
  const first = tasks.find((task) => task.id === cycle[0])!;
  return [
    error(
      'dependency-cycle',
      `dependency cycle: ${[...cycle, cycle[0]].join(' → ')} (each waits for the next)`,
      first.line,
      first.column,
      'Remove one of these dependencies; tasks in a cycle can never start.',
    ),
  ];
}

function emptyGroups(plan: Plan): Diagnostic[] {
  const used = new Set(plan.tasks.map((task) => task.group));
  return plan.groups
    .filter((group) => !used.has(group.id))
    .map((group) =>
      error(
        'empty-group',
        `group ${group.id} "${group.title}" has no tasks`,
        group.line,
        1,
        'Add task lines under the group heading, or remove the heading.',
      ),
    );
}

function missingCriteria(plan: Plan): Diagnostic[] {
  const groupCriteria = new Map(plan.groups.map((group) => [group.id, group.criteria ?? []]));
  return plan.tasks
    .filter((task) => runnable(task) && task.criteria.length === 0)
    .filter(
      (task) => (task.group === null ? [] : (groupCriteria.get(task.group) ?? [])).length === 0,
    )
    .map((task) => ({
      severity: 'warning' as const,
      code: 'missing-criteria',
      message: `task ${task.id} "${task.title}" has no success criteria`,
      line: task.line,
      column: task.column,
      hint: 'List what "done" means under the task, e.g. a nested "- [ ] tests pass" checklist or "**Success Criteria**:".',
    }));
}

/**
 * Tasks of a later group that wait for nothing: neither their group (no dependencies written at
 * all) nor they name an earlier group or one of its tasks, so they start at once, beside the
 * first group's. A table's Group or Wave column alone orders nothing; said, since plans are often
 * written as if it did.
 */
function groupsNotWaiting(plan: Plan): Diagnostic[] {
  const found: Diagnostic[] = [];
  plan.groups.forEach((group, index) => {
    if (index === 0 || group.dependsOn.length > 0 || group.dependenciesText !== null) return;
    const free = plan.tasks.filter(
      (task) => runnable(task) && task.group === group.id && task.dependsOn.length === 0,
    );
    if (free.length === 0) return;
    const first = plan.groups[0]!;
    found.push({
      severity: 'warning',
      code: 'group-not-waiting',
      message: `task${free.length === 1 ? '' : 's'} ${free.map((task) => task.id).join(', ')} of group ${group.id} wait${free.length === 1 ? 's' : ''} for nothing: ${free.length === 1 ? 'it starts' : 'they start'} at once, beside group ${first.id}, since neither ${free.length === 1 ? 'it' : 'they'} nor the group name a dependency`,
      line: free[0]!.line,
      column: free[0]!.column,
      hint: `If group ${group.id} must wait, give its tasks dependencies (e.g. Depends On: a task of group ${first.id}) or the group a "**Dependencies**: Group ${first.id} complete" line; or run one group at a time (--group ${first.id}, then --group ${group.id}).`,
    });
  });
  return found;
}

/** Two tasks of one group that claim the same file (or one claims a folder holding the other's). */
function fileConflicts(tasks: Task[]): Diagnostic[] {
  const byGroup = new Map<string | null, Task[]>();
  for (const task of tasks.filter(runnable)) {
    byGroup.set(task.group, [...(byGroup.get(task.group) ?? []), task]);
  }
  const found: Diagnostic[] = [];
  for (const [group, members] of byGroup) {
    members.forEach((task, index) => {
      for (const earlier of members.slice(0, index)) {
        const shared = task.files.find((file) =>
          earlier.files.some((other) => overlaps(file, other)),
        );
        if (!shared) continue;
        found.push({
          severity: 'warning',
          code: 'file-conflict',
          message: `tasks ${earlier.id} and ${task.id}${group === null ? '' : ` in group ${group}`} both claim ${shared}: a merge conflict waiting to happen`,
          line: task.line,
          column: task.column,
          hint: 'Give each file one owner per group, or make one task depend on the other.',
        });
        break;
      }
    });
  }
  return found;
}

function overlaps(a: string, b: string): boolean {
  const left = normalisePath(a);
  const right = normalisePath(b);
  if (left === '' || right === '') return false;
  if (left === right) return true;
  return isFolder(a) ? right.startsWith(`${left}/`) : isFolder(b) && left.startsWith(`${right}/`);
}

function normalisePath(file: string): string {
  return file
    .trim()
    .replace(/^\.\//u, '')
    .replace(/\/\*\*(\/\*)?$|\/\*$/u, '')
    .replace(/\/+$/u, '');
}

function isFolder(file: string): boolean {
  return /\/(\*\*?)?$/u.test(file.trim());
}

function unknownAgents(tasks: Task[], definitions: AgentDefinition[]): Diagnostic[] {
  const seen = new Set<string>();
  const found: Diagnostic[] = [];
  for (const task of tasks.filter(runnable)) {
    for (const agent of task.agents) {
      if (/^all$/iu.test(agent) || seen.has(agent.toLowerCase())) continue;
      seen.add(agent.toLowerCase());
      if (findAgentDefinition(agent, definitions)) continue;
      const users = tasks.filter((other) => other.agents.includes(agent)).map((other) => other.id);
      // A warning, never a blocker: no agent kind needs a definition to run a task (each gets
      // its AGENT_CONTEXT.md prompt), and a folder holding some of them says nothing of the rest.
      found.push({
        severity: 'warning',
        code: 'unknown-agent',
        message: `agent ${agent} has no definition in .claude/agents/ (used by ${users.join(', ')}); it runs with its task prompt only`,
        line: task.line,
        column: task.column,
        hint: `To give it a role, create .claude/agents/${agent.toLowerCase().replace(/\s+/g, '-')}.md with front matter (name, description); or check the name's spelling.`,
      });
    }
  }
  return found;
}

function error(
  code: string,
  message: string,
  line: number,
  column: number,
  hint: string | null,
): Diagnostic {
  return { severity: 'error', code, message, line, column, hint };
}
