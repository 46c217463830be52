import type { Paragraph } from 'mdast';
import { splitAgents } from '../agent-names.js';
import { stripStatusMark } from '../context.js';
import {
  emptyEnrichment,
  warning,
  type DialectContext,
  type Enrichment,
  type GroupRef,
  type TaskDraft,
} from '../draft.js';
import { parseDuration } from '../estimates.js';
import { fieldMap, proseLines, type Field } from '../fields.js';
import { idRange, isIdLike } from '../ids.js';
import { TASK_FIELD_KEYS } from '../labels.js';
import { endOffset, lineEndAt, startOffset } from '../markdown.js';
import { ownBlocks, type Section } from '../outline.js';
import { parseStatus } from '../status.js';
import { readParens } from './seed.js';

/**
 * Task blocks: a heading per task, then bold-label fields.
 *   ### Task: Research VNC Migration Strategy        (no id: one is generated)
 *   ### TASK_003: Azure DevOps Performance Optimization [URGENT]
 *   ### Workstream 1: Firmware & Pool Management Tools   (**Agent:** Builder-1 below it)
 *   #### 1A. Finish Grammar Overhaul                  (**Files**: … below it)
 * A heading that starts with ids already defined elsewhere (`### T1-T6: Simple Stats Tools`) is a
 * detail section: it enriches those tasks.
 */
export interface HeadingParts {
  /** The id as written, or a range's two ends. */
  id: string | null;
  range: [string, string] | null;
  title: string;
  /** Written as a task (`Task:`, `Tarefa:`, `Track 2:`): a task even with no agent field. */
  explicit: boolean;
  agents: string[];
  estimate: number | null;
  status: TaskDraft['status'];
}

const SEP = String.raw`\s*(?:[:：]|\.(?=\s)|\s[-–—])\s*`;
const TASK_NO_ID = new RegExp(
  String.raw`^(?:task|tarefa|tarea|tâche|aufgabe|任务)\s*[:：\-–—]\s*(.+)$`,
  'iu',
);
const TASK_WITH_ID = new RegExp(String.raw`^(?:task|tarefa|tarea)\s+([\w.-]+)${SEP}(.+)$`, 'iu');
const LEADING_ID = new RegExp(
  String.raw`^([A-Za-z0-9][\w.-]*(?:\s*[-–—]\s*[A-Za-z0-9][\w.-]*)?)${SEP}(.+)$`,
  'u',
);
const LEADING_WORD = new RegExp(String.raw`^([A-Za-z0-9][\w.-]*)${SEP}(.+)$`, 'u');
const LABELLED = new RegExp(
  String.raw`^((?:workstream|track|stream|sequential task|phase|step|lane|work package|epic|story)\s+[\w.-]+)${SEP}(.+)$`,
  'iu',
);
const EXPLICIT_LABEL = /^(?:workstream|track|stream|sequential task)\s/iu;

export function readHeading(rawTitle: string, known: ReadonlyMap<string, string>): HeadingParts {
  const { text, status } = stripStatusMark(rawTitle);
  const parts: HeadingParts = {
    id: null,
    range: null,
    title: text,
    explicit: false,
    agents: [],
    estimate: null,
    status,
  };
  const noId = TASK_NO_ID.exec(text);
  const withId = TASK_WITH_ID.exec(text);
  const labelled = LABELLED.exec(text);
  const leading = LEADING_ID.exec(text);
  if (withId && (isIdLike(withId[1]!) || /^\d+$/u.test(withId[1]!))) {
    Object.assign(parts, { id: withId[1]!, title: withId[2]!, explicit: true });
  } else if (noId) {
    Object.assign(parts, { title: noId[1]!, explicit: true });
  } else if (labelled) {
    Object.assign(parts, {
      id: labelled[1]!,
      title: labelled[2]!,
      explicit: EXPLICIT_LABEL.test(labelled[1]!),
    });
  } else if (leading) {
    const word = leading[1]!.trim();
    const range = idRange(word);
    const simple = LEADING_WORD.exec(text);
    if (range) Object.assign(parts, { range, title: leading[2]! });
    else if (isIdLike(word)) Object.assign(parts, { id: word, title: leading[2]! });
    else if (simple && isIdLike(simple[1]!))
      Object.assign(parts, { id: simple[1]!, title: simple[2]! });
  }
  const parens = /^(.*?)\s*\(([^()]*)\)\s*$/su.exec(parts.title);
  const inside = parens ? readParens(parens[2]!, known) : null;
  if (parens && inside) {
    parts.title = parens[1]!.trim();
    parts.agents = inside.agents;
    parts.estimate = inside.estimate;
  }
  return parts;
}

/** Does this heading, with these fields under it, define a task? */
export function isTaskBlock(section: Section, head: HeadingParts, fields: Field[]): boolean {
  if (!section.heading || section.depth < 2) return false;
  if (head.explicit) return true;
  const keys = new Set(fields.map((field) => field.key));
  if (keys.has('agent')) return true;
  return head.id !== null && [...keys].some((key) => key !== null && TASK_FIELD_KEYS.has(key));
}

/** What a block says about its task, whether it defines it or adds to it. */
export function blockFacts(
  section: Section,
  head: HeadingParts,
  fields: Field[],
  context: DialectContext,
): Enrichment {
  const facts = emptyEnrichment();
  const byKey = fieldMap(fields);
  const agentField = byKey.get('agent');
  facts.agents = agentField ? splitAgents(agentField.text) : head.agents;
  const statusField = byKey.get('status');
  if (statusField) {
    facts.status = parseStatus(statusField.text);
    if (facts.status === null) {
      context.diagnostics.push(
        warning(
          'unknown-status',
          `status "${statusField.text}" is not one the parser knows; the task is treated as pending`,
          statusField.line,
          statusField.column,
          'Use Not Started, In Progress, Blocked, Review, Completed, Failed or Skipped.',
        ),
      );
    }
  }
  facts.status ??= head.status;
  const deps = byKey.get('dependencies');
  if (deps) facts.dependencies.push({ text: deps.text, line: deps.line, column: deps.column });
  const estimate = byKey.get('estimate');
  facts.estimateHours = estimate ? parseDuration(estimate.text) : head.estimate;
  facts.priority = byKey.get('priority')?.text || null;
  const branch = byKey.get('branch');
  facts.branch = branch ? (branch.codes[0] ?? (branch.text || null)) : null;
  const worktree = byKey.get('worktree');
  facts.worktree = worktree ? (worktree.codes[0] ?? (worktree.text || null)) : null;
  for (const field of fields) {
    if (field.key === 'files') facts.files.push(...filesOfField(field));
    if (field.key === 'criteria') {
      facts.criteria.push(...(field.text ? [field.text] : []), ...field.items);
    }
    if (field.key === 'details' || field.key === null) {
      facts.details.push([`${field.label}: ${field.text}`.trim(), ...field.items].join('\n'));
    }
  }
  facts.details.push(...proseOf(section, context.body));
  return facts;
}

function filesOfField(field: Field): string[] {
  if (field.codes.length > 0) return field.codes;
  return field.text
    .split(/\s*[,;]\s*/u)
    .map((file) => file.trim())
    .filter((file) => file !== '');
}

/** Paragraph text under the heading that is not a field. */
function proseOf(section: Section, body: string): string[] {
  return ownBlocks(section)
    .filter((block): block is Paragraph => block.type === 'paragraph')
    .flatMap((block) => proseLines(block, body));
}

/** A block that defines its task. */
export function blockDraft(
  section: Section,
  head: HeadingParts,
  fields: Field[],
  group: GroupRef | null,
  contextAgent: string | null,
  context: DialectContext,
): TaskDraft {
  const facts = blockFacts(section, head, fields, context);
  const heading = section.heading!;
  const byKey = fieldMap(fields);
  const statusField = byKey.get('status') ?? null;
  const anchor = byKey.get('agent') ?? fields[0] ?? null;
  const report = fields.find((field) => field.key === 'report') ?? null;
  const body = context.body;
  return {
    id: head.id,
    title: head.title,
    agents: facts.agents.length > 0 ? facts.agents : contextAgent ? [contextAgent] : [],
    group,
    dependencies: facts.dependencies,
    estimateHours: facts.estimateHours,
    status: facts.status,
    statusLine: statusField?.line ?? heading.position?.start.line ?? 1,
    priority: facts.priority,
    branch: facts.branch,
    worktree: facts.worktree,
    files: facts.files,
    criteria: facts.criteria,
    details: facts.details,
    dialect: 'block',
    line: heading.position?.start.line ?? 1,
    column: heading.position?.start.column ?? 1,
    order: startOffset(heading),
    source: {
      dialect: 'block',
      statusValue: statusField
        ? { start: statusField.valueStart, end: statusField.valueEnd }
        : null,
      insertAfter: anchor
        ? lineEndAt(body, anchor.valueStart)
        : lineEndAt(body, endOffset(heading) - 1),
      fieldPrefix: anchor ? body.slice(anchor.lineStart, labelOffset(anchor, body)) : '',
      colonInsideBold: anchor ? colonInside(anchor, body) : false,
      reportValue: report ? { start: report.valueStart, end: report.valueEnd } : null,
      sectionIndex: section.index,
    },
  };
}

/** Offset of the `**` that opens a field's label. */
function labelOffset(field: Field, body: string): number {
  const lineEnd = lineEndAt(body, field.lineStart);
  const index = body.slice(field.lineStart, lineEnd).indexOf('**');
  return index === -1 ? field.lineStart : field.lineStart + index;
}

function colonInside(field: Field, body: string): boolean {
  const start = labelOffset(field, body);
  return /^\*\*[^*]*[:：]\*\*/u.test(body.slice(start, field.valueStart));
}
