import type { List, RootContent, Table } from 'mdast';
import { splitAgents } from './agent-names.js';
import {
  addKnownAgent,
  agentContext,
  groupHeading,
  groupOf,
  type GroupHeading,
} from './context.js';
import {
  blockDraft,
  blockFacts,
  isTaskBlock,
  readHeading,
  type HeadingParts,
} from './dialects/block.js';
import { readChecklist } from './dialects/checklist.js';
import { readTaskLines } from './dialects/seed.js';
import { rosterAgents, tableRows, tableShape, type TableShape } from './dialects/table.js';
import {
  enrich,
  emptyEnrichment,
  warning,
  type DialectContext,
  type GroupRef,
  type TaskDraft,
  type Enrichment,
} from './draft.js';
import { fieldsOf, type Field } from './fields.js';
import { resolvePlan, type GroupBuild } from './resolve.js';
import { expandRange } from './ids.js';
import { planLimitProblem } from './limits.js';
import { isBidiControl, readSource, type PlanSource } from './markdown.js';
import { buildOutline, ownBlocks, type Section } from './outline.js';
import type { Diagnostic, Plan } from './schema.js';
import { parseStatus } from './status.js';

/** A parse with everything write-back needs to edit the text in place. */
export interface Analysis {
  plan: Plan;
  diagnostics: Diagnostic[];
  bom: string;
  /** The text parsed: control characters replaced (see `readSource`). */
  body: string;
  /** The text as written, at the same offsets: what write-back edits. */
  raw: string;
  sections: Section[];
  /** Parallel to `plan.tasks`. */
  drafts: TaskDraft[];
  groups: GroupBuild[];
}

/**
 * Read a MULTI_AGENT_PLAN.md into a Plan. Pure and synchronous: Markdown in, tasks and groups out,
 * with a diagnostic for every place the parser had to give up on something the plan wrote.
 * Semantic checks (agents, cycles, unknown ids) are `validatePlan`'s job.
 */
export function parsePlan(text: string): { plan: Plan; diagnostics: Diagnostic[] } {
  const { plan, diagnostics } = analysePlan(text);
  return { plan, diagnostics };
}

interface BlockCandidate {
  section: Section;
  head: HeadingParts;
  fields: Field[];
  isTask: boolean;
}

interface TableRead {
  shape: TableShape;
  rows: TaskDraft[];
}

export function analysePlan(text: string): Analysis {
  // Beyond the limits nothing is parsed: an empty plan, and the error that says why.
  const limit = planLimitProblem(text);
  const { bom, body, raw, tree, controls } = readSource(limit === null ? text : '');
  const sections = buildOutline(tree, body.length);
  const context: DialectContext = {
    body,
    diagnostics: limit === null ? [] : [limit],
    knownAgents: new Map(),
  };
  reportControls(controls, context);
  collectKnownAgents(sections, context);

  const blocks = blockCandidates(sections, context);
  const blockSections = new Set(
    blocks.filter((block) => block.isTask).map((block) => block.section.index),
  );
  const groupHeadings = new Map<number, GroupHeading>();
  const groupRefs = new Map<number, GroupRef>();
  for (const section of sections) {
    if (!section.heading || blockSections.has(section.index)) continue;
    const group = groupHeading(section.title);
    if (!group) continue;
    groupHeadings.set(section.index, group);
    groupRefs.set(section.index, {
      id: group.id,
      title: group.title,
      line: section.heading.position?.start.line ?? 1,
      sectionIndex: section.index,
    });
  }

  const tables = readTables(sections, groupRefs, context);
  const lines = sections
    .filter((section) => !blockSections.has(section.index))
    .flatMap((section) =>
      listsOf(section.own).flatMap((list) =>
        readTaskLines(
          list,
          {
            group: groupOf(section, groupRefs, false),
            agent: agentContext(section, context.knownAgents, false),
            sectionIndex: section.index,
          },
          context,
        ),
      ),
    );

  const merged = mergeDrafts(lines, tables, blocks, groupRefs, context);
  const drafts = merged.length > 0 ? merged : checklistDrafts(sections, groupRefs, context);
  drafts.sort((a, b) => a.order - b.order);

  const title = sections.find((section) => section.depth === 1)?.title ?? null;
  const resolved = resolvePlan({
    title,
    drafts,
    sections,
    groupHeadings,
    groupRefs,
    context,
  });
  return {
    plan: resolved.plan,
    diagnostics: context.diagnostics.sort((a, b) => a.line - b.line || a.column - b.column),
    bom,
    body,
    raw,
    sections,
    drafts,
    groups: resolved.groups,
  };
}

const SHOWN_CONTROLS = 3;

/** A warning for each of the first lines with control characters, then one for the rest. */
function reportControls(controls: PlanSource['controls'], context: DialectContext): void {
  const hint =
    'Remove it: a plan is text. Such characters are terminal escape codes, or what a copy from a binary file or another program left behind.';
  for (const { line, column, code } of controls.slice(0, SHOWN_CONTROLS)) {
    context.diagnostics.push(
      warning(
        'control-character',
        `${isBidiControl(code) ? 'bidirectional control character (it shows text in another order than it is read)' : 'control character'} U+${code.toString(16).toUpperCase().padStart(4, '0')} in the plan; it is read as \uFFFD (and any others on this line too)`,
        line,
        column,
        hint,
      ),
    );
  }
  const rest = controls.slice(SHOWN_CONTROLS);
  if (rest.length === 0) return;
  const { line, column } = rest[0]!;
  const last = rest[rest.length - 1]!.line;
  context.diagnostics.push(
    warning(
      'control-character',
      `control characters on ${rest.length} more line(s), from this one to line ${last}; read as \uFFFD`,
      line,
      column,
      `${hint} Is this file a plan at all?`,
    ),
  );
}

/** Agents named in rosters, `**Agents**:` lines and agent fields, to recognise them elsewhere. */
function collectKnownAgents(sections: Section[], context: DialectContext): void {
  for (const section of sections) {
    for (const block of section.own) {
      if (block.type === 'table') {
        const shape = tableShape(block);
        if (shape.kind === 'roster') {
          for (const name of rosterAgents(block, shape)) addKnownAgent(context.knownAgents, name);
        }
        continue;
      }
      for (const field of fieldsOf([block], context.body)) {
        if (field.key !== 'agent' && field.key !== 'agents') continue;
        for (const name of splitAgents(field.text)) addKnownAgent(context.knownAgents, name);
      }
    }
  }
}

function blockCandidates(sections: Section[], context: DialectContext): BlockCandidate[] {
  return sections
    .filter((section) => section.heading && section.depth >= 2)
    .map((section) => {
      const head = readHeading(section.title, context.knownAgents);
      const fields = fieldsOf(ownBlocks(section), context.body);
      return { section, head, fields, isTask: isTaskBlock(section, head, fields) };
    })
    .filter((block) => block.isTask || block.head.id !== null || block.head.range !== null);
}

function readTables(
  sections: Section[],
  groupRefs: ReadonlyMap<number, GroupRef>,
  context: DialectContext,
): TableRead[] {
  const reads: TableRead[] = [];
  for (const section of sections) {
    for (const table of section.own.filter((block): block is Table => block.type === 'table')) {
      const shape = tableShape(table);
      if (shape.kind !== 'tasks' && shape.kind !== 'details') continue;
      const group = groupOf(section, groupRefs, false);
      reads.push({ shape, rows: tableRows(table, shape, section.index, group, context) });
    }
  }
  return reads;
}

function listsOf(blocks: RootContent[]): List[] {
  return blocks.filter((block): block is List => block.type === 'list');
}

/**
 * One task per id. Task lines come first, then tables, then blocks: a table that only repeats
 * ids already defined, or a heading that starts with them (`### T1: …`), adds detail to those
 * tasks. A repeated id in the same dialect is kept twice, for validation to report.
 */
function mergeDrafts(
  lines: TaskDraft[],
  tables: TableRead[],
  blocks: BlockCandidate[],
  groupRefs: ReadonlyMap<number, GroupRef>,
  context: DialectContext,
): TaskDraft[] {
  const defined: TaskDraft[] = [...lines];
  const byId = new Map<string, TaskDraft>();
  const remember = (draft: TaskDraft) => {
    if (draft.id && !byId.has(draft.id)) byId.set(draft.id, draft);
  };
  const define = (draft: TaskDraft) => {
    defined.push(draft);
    remember(draft);
  };
  lines.forEach(remember);

  for (const table of tables) {
    const ids = table.rows.map((row) => row.id);
    const repeats = ids.length > 0 && ids.every((id) => id !== null && knownIds(id, byId) !== null);
    if (table.shape.kind === 'details' || repeats) {
      for (const row of table.rows) {
        const targets = row.id ? knownIds(row.id, byId) : null;
        if (targets) targets.forEach((task) => enrich(task, asEnrichment(row)));
      }
      continue;
    }
    table.rows.forEach(define);
  }

  for (const block of blocks) {
    const targets = blockTargets(block.head, byId);
    if (targets && targets.length > 0) {
      const facts = blockFacts(block.section, block.head, block.fields, context);
      targets.forEach((task) => enrich(task, facts));
      continue;
    }
    if (!block.isTask) continue;
    const group = groupOf(block.section, groupRefs, true);
    const agent = agentContext(block.section, context.knownAgents, true);
    define(blockDraft(block.section, block.head, block.fields, group, agent, context));
  }
  return defined;
}

/** Tasks a detail heading is about (`T1`, `T1-T6`), or null if it names none already defined. */
function blockTargets(
  head: HeadingParts,
  byId: ReadonlyMap<string, TaskDraft>,
): TaskDraft[] | null {
  if (head.range) {
    const ids = expandRange(head.range[0], head.range[1]) ?? [];
    const found = ids.map((id) => byId.get(id)).filter((task): task is TaskDraft => !!task);
    return found.length > 0 ? found : null;
  }
  if (head.id && byId.has(head.id)) return [byId.get(head.id)!];
  return null;
}

/** `T2-T4` or `T3` in a detail table, as the defined tasks it covers. */
function knownIds(text: string, byId: ReadonlyMap<string, TaskDraft>): TaskDraft[] | null {
  const direct = byId.get(text);
  if (direct) return [direct];
  const range = /^(.+?)\s*(?:-|–|—|\.\.)\s*(.+)$/u.exec(text);
  const ids = range ? (expandRange(range[1]!, range[2]!) ?? []) : [];
  const found = ids.map((id) => byId.get(id)).filter((task): task is TaskDraft => !!task);
  return found.length > 0 ? found : null;
}

function asEnrichment(draft: TaskDraft): Enrichment {
  return {
    ...emptyEnrichment(),
    agents: draft.agents,
    dependencies: draft.dependencies,
    estimateHours: draft.estimateHours,
    status: draft.status,
    priority: draft.priority,
    branch: draft.branch,
    worktree: draft.worktree,
    files: draft.files,
    criteria: draft.criteria,
    details: draft.details,
  };
}

/** The last resort: checkbox boards that name agents (see dialects/checklist.ts). */
function checklistDrafts(
  sections: Section[],
  groupRefs: ReadonlyMap<number, GroupRef>,
  context: DialectContext,
): TaskDraft[] {
  return sections.flatMap((section) =>
    listsOf(section.own).flatMap((list) =>
      readChecklist(
        list,
        {
          group: groupOf(section, groupRefs, false),
          agent: agentContext(section, context.knownAgents, false),
          status: section.heading && section.title.length <= 40 ? parseStatus(section.title) : null,
          sectionIndex: section.index,
        },
        context,
      ),
    ),
  );
}
