import type { RootContent } from 'mdast';
import { UsageError } from '../errors.js';
import type { TaskSource } from './draft.js';
// The one duration formatter: a plan line says what the report and the terminal say.
import { formatDuration } from '../format.js';
import { fieldsOf } from './fields.js';
import { endOffset, lineEndAt, startOffset } from './markdown.js';
import type { Section } from './outline.js';
import { analysePlan, type Analysis } from './parse.js';
import { TRAILING_STATUS } from './status.js';
import type { Plan } from './schema.js';

export type TaskOutcome = 'completed' | 'warnings' | 'failed' | 'skipped' | 'moved';

export interface PlanWriteBack {
  tasks: Array<{ id: string; outcome: TaskOutcome; actualMs?: number; note?: string }>;
  groups?: Array<{ id: string; completed: boolean; actualMs?: number }>;
  /** Path of the execution report, linked after each updated group's tasks. */
  reportPath?: string;
}

/** One change to the body: replace [start, end) (an insertion when start = end). */
interface Edit {
  start: number;
  end: number;
  text: string;
  order: number;
}

/**
 * Write a run's outcome into the plan the way the seed's Step 5.3 shows, in the plan's own
 * dialect: checkbox lines get `[x]` and `✅ 1h 32min` / `⚠️ 1h 41min (warnings)` / `❌ failed` /
 * `⏭️ Moved to Group 3`; table rows get their status cell; task blocks their status field; group
 * headings `✅ COMPLETED`, `**Duration**: 3 days → **Actual**: 1h 44min` and the report link.
 *
 * Only the lines that carry a status change; every other byte stays as it was. Running it twice
 * gives the same text as running it once: existing marks are replaced, never added to.
 * Positions are read again from `text` (so a plan edited since it was parsed is still safe);
 * `plan` names the tasks the caller knows, and an id in `update` that neither knows is an error.
 */
export function writeBack(text: string, plan: Plan, update: PlanWriteBack): string {
  const analysis = analysePlan(text);
  const edits: Edit[] = [];
  const add = (start: number, end: number, value: string) =>
    edits.push({ start, end, text: value, order: edits.length });
  const newline = analysis.body.includes('\r\n') ? '\r\n' : '\n';
  const anchors = new Map<string, ReportAnchor>();

  for (const task of update.tasks) {
    const index = taskIndex(analysis, plan, task.id);
    const draft = analysis.drafts[index]!;
    writeTask(draft.source, task, analysis.body, newline, update.reportPath ?? null, add);
    const anchor = reportAnchor(analysis, index);
    if (anchor) anchors.set(anchor.key, anchor);
  }
  for (const group of update.groups ?? []) {
    const build = analysis.groups.find((candidate) => candidate.id === group.id);
    if (!build)
      throw unknown(
        'group',
        group.id,
        analysis.groups.map((g) => g.id),
      );
    if (build.sectionIndex === null) continue;
    writeGroup(analysis, build.sectionIndex, group, newline, add);
    const anchor = groupAnchor(analysis, build.sectionIndex, build.tasks);
    if (anchor) anchors.set(anchor.key, anchor);
  }
  if (update.reportPath) {
    // A group's heading and its tasks' table can both lead to one place: one link there.
    const places = new Map<string, ReportAnchor>();
    for (const anchor of anchors.values()) {
      const place = anchor.existing ? `at:${anchor.existing.start}` : `after:${anchor.after}`;
      if (!places.has(place)) places.set(place, anchor);
    }
    for (const anchor of places.values()) writeReport(anchor, update.reportPath, newline, add);
  }
  return analysis.bom + applyEdits(analysis.raw, edits);
}

function taskIndex(analysis: Analysis, plan: Plan, id: string): number {
  const index = analysis.plan.tasks.findIndex((task) => task.id === id);
  if (index !== -1) return index;
  throw unknown(
    'task',
    id,
    plan.tasks.map((task) => task.id),
  );
}

function unknown(kind: string, id: string, known: string[]): UsageError {
  return new UsageError(
    `write-back: ${kind} "${id}" is not in the plan`,
    `The plan's ${kind}s are: ${known.slice(0, 20).join(', ') || '(none)'}.`,
  );
}

type Add = (start: number, end: number, value: string) => void;
type TaskUpdate = PlanWriteBack['tasks'][number];

function writeTask(
  source: TaskSource,
  task: TaskUpdate,
  body: string,
  newline: string,
  reportPath: string | null,
  add: Add,
): void {
  switch (source.dialect) {
    case 'seed': {
      const checked = task.outcome !== 'failed';
      if (source.checkbox) add(source.checkbox.start, source.checkbox.end, checked ? '[x]' : '[ ]');
      const mark = seedMark(task);
      if (source.markStart !== null) add(source.markStart, source.textEnd, mark);
      else add(source.textEnd, source.textEnd, ` ${mark}`);
      return;
    }
    case 'table': {
      if (source.statusCell) replaceCell(body, source.statusCell, cellText(task), add);
      else if (source.titleCell)
        markCell(body, source.titleCell, seedMark(task).replace(/\|/g, '\\|'), add);
      return;
    }
    case 'block': {
      const value = fieldText(task);
      const label = (name: string) => (source.colonInsideBold ? `**${name}:**` : `**${name}**:`);
      const status = source.statusValue;
      if (status) add(status.start, status.end, value);
      else
        add(
          source.insertAfter,
          source.insertAfter,
          `${newline}${source.fieldPrefix}${label('Status')} ${value}`,
        );
      if (reportPath === null) return;
      if (source.reportValue) {
        add(source.reportValue.start, source.reportValue.end, reportPath);
        return;
      }
      // Right below the status line, whether it was there or is being added.
      const at = status ? lineEndAt(body, status.end) : source.insertAfter;
      add(at, at, `${newline}${source.fieldPrefix}${label('Execution Report')} ${reportPath}`);
      return;
    }
  }
}

/** The seed's marks: `✅ 1h 32min`, `⚠️ 1h 41min (warnings)`, `❌ failed`, `⏭️ Moved to Group 3`. */
export function seedMark(task: TaskUpdate): string {
  const time = task.actualMs === undefined ? '' : ` ${formatDuration(task.actualMs)}`;
  const note = task.note ? oneLine(task.note) : '';
  switch (task.outcome) {
    case 'completed':
      return `✅${time}${note ? ` (${note})` : ''}`;
    case 'warnings':
      return `⚠️${time} (${note || 'warnings'})`;
    case 'failed':
      return `❌ failed${note ? ` (${note})` : ''}`;
    case 'skipped':
      return `⏭️ ${note || 'Skipped'}`;
    case 'moved':
      return `⏭️ ${note || 'Moved'}`;
  }
}

function cellText(task: TaskUpdate): string {
  const note = task.note ? oneLine(task.note).replace(/\|/g, '\\|') : '';
  switch (task.outcome) {
    case 'completed':
      return '✅ Completed';
    case 'warnings':
      return '⚠️ Completed (warnings)';
    case 'failed':
      return '❌ Failed';
    case 'skipped':
      return `⏭️ ${note || 'Skipped'}`;
    case 'moved':
      return `⏭️ ${note || 'Moved'}`;
  }
}

function fieldText(task: TaskUpdate): string {
  const time = task.actualMs === undefined ? '' : ` (${formatDuration(task.actualMs)})`;
  const note = task.note ? oneLine(task.note) : '';
  switch (task.outcome) {
    case 'completed':
      return `✅ Completed${time}`;
    case 'warnings':
      return `⚠️ Completed with warnings${time}`;
    case 'failed':
      return `❌ Failed${note ? ` (${note})` : ''}`;
    case 'skipped':
      return `⏭️ ${note || 'Skipped'}`;
    case 'moved':
      return `⏭️ ${note || 'Moved'}`;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A cell's span without its pipes (micromark's span starts at the leading pipe). */
function cellInner(
  body: string,
  cell: { start: number; end: number },
): { start: number; end: number } {
  let start = cell.start;
  let end = cell.end;
  if (body[start] === '|') start += 1;
  if (end > start && body[end - 1] === '|' && body[end - 2] !== '\\') end -= 1;
  return { start, end };
}

/**
 * Replace a table cell's content, keeping its padding so an aligned table stays aligned when the
 * new text is not longer than the old.
 */
function replaceCell(
  body: string,
  cell: { start: number; end: number },
  value: string,
  add: Add,
): void {
  const { start, end } = cellInner(body, cell);
  const width = end - start;
  const content = ` ${value} `;
  add(start, end, content.length >= width ? content : content.padEnd(width, ' '));
}

/** Put a status mark at the end of a cell's text, replacing one written before. */
function markCell(
  body: string,
  cell: { start: number; end: number },
  mark: string,
  add: Add,
): void {
  const { start, end } = cellInner(body, cell);
  const raw = body.slice(start, end);
  const textEnd = start + raw.trimEnd().length;
  const existing = TRAILING_STATUS.exec(raw.trimEnd());
  if (existing && start + existing.index < textEnd) add(start + existing.index + 1, textEnd, mark);
  else add(textEnd, textEnd, ` ${mark}`);
}

function writeGroup(
  analysis: Analysis,
  sectionIndex: number,
  group: NonNullable<PlanWriteBack['groups']>[number],
  newline: string,
  add: Add,
): void {
  const section = analysis.sections[sectionIndex]!;
  const heading = section.heading!;
  const build = analysis.groups.find((candidate) => candidate.sectionIndex === sectionIndex)!;
  if (group.completed && !/\bCOMPLETED\b/u.test(section.title)) {
    const end = headingTextEnd(analysis.body, heading);
    add(end, end, ' ✅ COMPLETED');
  }
  if (group.actualMs === undefined) return;
  const actual = formatDuration(group.actualMs);
  const fields = fieldsOf(section.own, analysis.body);
  const actualField = fields.find((field) => field.key === 'actual');
  if (build.durationValue) {
    const { start, end } = build.durationValue;
    const arrow = analysis.body.slice(start, end).indexOf('→');
    if (arrow === -1) add(end, end, ` → **Actual**: ${actual}`);
    else add(start + arrow, end, `→ **Actual**: ${actual}`);
  } else if (actualField) {
    add(actualField.valueStart, actualField.valueEnd, actual);
  } else {
    const end = lineEndAt(analysis.body, endOffset(heading) - 1);
    add(end, end, `${newline}**Actual**: ${actual}`);
  }
}

/** Where a heading's text ends: before a closing `##` run, or the first line of a setext heading. */
function headingTextEnd(body: string, heading: Section['heading'] & object): number {
  const start = startOffset(heading);
  const end = endOffset(heading);
  const raw = body.slice(start, end);
  if (raw.includes('\n')) return lineEndAt(body, start);
  const closing = /[ \t]+#+[ \t]*$/u.exec(raw);
  return closing ? start + closing.index : end;
}

/** Where the report link goes: after a task list or table, or the group's existing link. */
interface ReportAnchor {
  key: string;
  /** Existing `**Execution Report**:` value to replace. */
  existing: { start: number; end: number } | null;
  /** Where to insert a new paragraph when there is none. */
  after: number;
}

function reportAnchor(analysis: Analysis, index: number): ReportAnchor | null {
  const draft = analysis.drafts[index]!;
  const source = draft.source;
  if (source.dialect === 'block') return null;
  const group = draft.group;
  if (source.dialect === 'seed' && group?.sectionIndex != null) {
    const build = analysis.groups.find((candidate) => candidate.id === group.id);
    if (build && build.sectionIndex !== null) {
      return groupAnchor(analysis, build.sectionIndex, build.tasks);
    }
  }
  const end = source.dialect === 'seed' ? source.listEnd : source.tableEnd;
  return afterBlock(analysis.sections[source.sectionIndex]!, end, analysis.body);
}

/** A group's link: its existing one, else after the last list holding its tasks. */
function groupAnchor(
  analysis: Analysis,
  sectionIndex: number,
  tasks: number[],
): ReportAnchor | null {
  const build = analysis.groups.find((candidate) => candidate.sectionIndex === sectionIndex)!;
  const ends = tasks
    .map((index) => analysis.drafts[index]!.source)
    .flatMap((source) =>
      source.dialect === 'seed'
        ? [source.listEnd]
        : source.dialect === 'table'
          ? [source.tableEnd]
          : [],
    );
  if (build.reportValue)
    return { key: `group:${sectionIndex}`, existing: build.reportValue, after: 0 };
  if (ends.length === 0) return null;
  const last = Math.max(...ends);
  const section = analysis.sections[sectionIndex]!;
  const anchor = afterBlock(section, last, analysis.body);
  return anchor ? { ...anchor, key: `group:${sectionIndex}` } : null;
}

/** After the top-level block that ends at (or contains) `end`, reusing a link right after it. */
function afterBlock(section: Section, end: number, body: string): ReportAnchor | null {
  const index = section.own.findIndex(
    (block: RootContent) => startOffset(block) < end && endOffset(block) >= end,
  );
  if (index === -1) return null;
  const block = section.own[index]!;
  const next = section.own[index + 1];
  const existing = next
    ? fieldsOf([next], body).find((field) => field.key === 'report')
    : undefined;
  return {
    key: `block:${startOffset(block)}`,
    existing: existing ? { start: existing.valueStart, end: existing.valueEnd } : null,
    after: endOffset(block),
  };
}

function writeReport(anchor: ReportAnchor, reportPath: string, newline: string, add: Add): void {
  if (anchor.existing) {
    add(anchor.existing.start, anchor.existing.end, reportPath);
    return;
  }
  add(anchor.after, anchor.after, `${newline}${newline}**Execution Report**: ${reportPath}`);
}

/** Apply non-overlapping edits; insertions at one offset keep the order they were made in. */
function applyEdits(body: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start || a.order - b.order);
  let out = '';
  let at = 0;
  for (const edit of sorted) {
    if (edit.start < at) continue; // two edits of one span: the first wins
    out += body.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + body.slice(at);
}
