import type { Table, TableCell } from 'mdast';
import { splitAgents, isEmptyValue } from '../agent-names.js';
import type { GroupRef, TaskDraft } from '../draft.js';
import { warning, type DialectContext } from '../draft.js';
import { parseDuration } from '../estimates.js';
import { idRange, isIdLike } from '../ids.js';
import { labelKey, normaliseLabel, type FieldKey } from '../labels.js';
import { codeSpans, collapse, endOffset, flatText, startOffset } from '../markdown.js';
import { parseStatus, TRAILING_STATUS } from '../status.js';

/** How a table's columns map to task fields, and what kind of table it is. */
export interface TableShape {
  columns: Partial<Record<FieldKey, number>>;
  /** No id column, but one whose cells start with an id (`A3 \`feat/branch\``). */
  idInCell: boolean;
  /** Whether a column named an agent under a skills header (`Agent/Skills`). */
  agentHasSkills: boolean;
  kind: 'tasks' | 'details' | 'roster' | 'other';
}

const COLUMN_KEYS: FieldKey[] = [
  'id',
  'title',
  'agent',
  'group',
  'dependencies',
  'status',
  'branch',
  'worktree',
  'estimate',
  'files',
  'priority',
];

export function tableShape(table: Table): TableShape {
  const [header, ...rows] = table.children;
  const headers = header ? header.children.map((cell) => flatText(cell)) : [];
  const columns: Partial<Record<FieldKey, number>> = {};
  let rosterAgent = false;
  headers.forEach((text, index) => {
    let key = labelKey(text);
    if (key === 'agents') key = 'agent';
    if (!key || !COLUMN_KEYS.includes(key) || columns[key] !== undefined) return;
    columns[key] = index;
    if (key === 'agent' && /^(agent|agent role|agent name)$/u.test(normaliseLabel(text))) {
      rosterAgent = true;
    }
  });
  const agentHasSkills =
    columns.agent !== undefined && /skill/iu.test(headers[columns.agent] ?? '');
  let idInCell = false;
  if (
    columns.id === undefined &&
    columns.title !== undefined &&
    titlesAreIds(rows, columns.title)
  ) {
    // `| Task | Agent | Model |` with `T1`, `T2-T4` under Task: a table about tasks defined elsewhere.
    columns.id = columns.title;
    delete columns.title;
  }
  if (columns.id === undefined && columns.title !== undefined) {
    const candidate = idColumnInCells(
      rows.map((row) => row.children),
      columns,
    );
    if (candidate !== null) {
      if (columns.group === candidate) delete columns.group;
      columns.id = candidate;
      idInCell = true;
    }
  }
  if (columns.id !== undefined && columns.title === undefined) {
    const fallback = titleFallback(
      rows.map((row) => row.children),
      columns,
      headers.length,
    );
    if (fallback !== null) columns.title = fallback;
  }
  const kind = classify(columns, rosterAgent);
  return { columns, idInCell, agentHasSkills, kind };
}

function classify(
  columns: Partial<Record<FieldKey, number>>,
  rosterAgent: boolean,
): TableShape['kind'] {
  if (columns.id !== undefined) return columns.title !== undefined ? 'tasks' : 'details';
  if (columns.title !== undefined && columns.agent !== undefined) return 'tasks';
  if (columns.agent !== undefined && rosterAgent && columns.title === undefined) return 'roster';
  return 'other';
}

function titlesAreIds(rows: Table['children'], column: number): boolean {
  const texts = rows
    .map((row) => (row.children[column] ? flatText(row.children[column]) : ''))
    .map((text) => text.replace(/[*`]/g, '').trim())
    .filter((text) => text !== '');
  return texts.length > 0 && texts.every((text) => isIdLike(text) || idRange(text) !== null);
}

/** A column whose every cell starts with a distinct id, like `A0 \`feat/…\``. */
function idColumnInCells(
  rows: TableCell[][],
  columns: Partial<Record<FieldKey, number>>,
): number | null {
  if (rows.length === 0) return null;
  const width = Math.max(...rows.map((cells) => cells.length));
  const taken = new Set(
    Object.entries(columns)
      .filter(([key]) => key !== 'group')
      .map(([, index]) => index),
  );
  for (let index = 0; index < width; index += 1) {
    if (taken.has(index)) continue;
    const words = rows.map((cells) => firstWord(cellText(cells[index])));
    const filled = words.filter((word) => word !== '');
    if (filled.length === 0 || filled.length < rows.length / 2) continue;
    if (!filled.every((word) => isIdLike(word) && /[A-Za-z]/u.test(word))) continue;
    if (new Set(filled).size !== filled.length) continue;
    return index;
  }
  return null;
}

/** With an id but no title header (`MCP Component`), the first column of prose is the title. */
function titleFallback(
  rows: TableCell[][],
  columns: Partial<Record<FieldKey, number>>,
  width: number,
): number | null {
  const taken = new Set(Object.values(columns));
  for (let index = (columns.id ?? -1) + 1; index < width; index += 1) {
    if (taken.has(index)) continue;
    const texts = rows.map((cells) => cellText(cells[index]));
    const prose = texts.filter((text) => !isEmptyValue(text) && /\p{L}{3}/u.test(text));
    if (prose.length > 0 && prose.length >= rows.length / 2) return index;
  }
  return null;
}

function cellText(cell: TableCell | undefined): string {
  return cell ? flatText(cell) : '';
}

function firstWord(text: string): string {
  return (
    text
      .replace(/[*`]/g, '')
      .trim()
      .split(/\s+/u)[0]
      ?.replace(/[:.]+$/u, '') ?? ''
  );
}

/** Names in a roster table's agent column (who the plan's agents are). */
export function rosterAgents(table: Table, shape: TableShape): string[] {
  const column = shape.columns.agent;
  if (column === undefined) return [];
  return table.children
    .slice(1)
    .flatMap((row) => (row.children[column] ? [flatText(row.children[column])] : []))
    .map((name) => name.replace(/[*`]/g, '').trim())
    .filter((name) => name !== '' && !isEmptyValue(name));
}

/** The rows of a task or detail table as task drafts (id null when the table gives none). */
export function tableRows(
  table: Table,
  shape: TableShape,
  sectionIndex: number,
  headingGroup: GroupRef | null,
  context: DialectContext,
): TaskDraft[] {
  const { columns } = shape;
  const cellOf = (cells: TableCell[], key: FieldKey): TableCell | null =>
    columns[key] === undefined ? null : (cells[columns[key]] ?? null);
  const textOf = (cells: TableCell[], key: FieldKey): string => {
    const cell = cellOf(cells, key);
    return cell ? flatText(cell) : '';
  };
  const drafts: TaskDraft[] = [];
  for (const row of table.children.slice(1)) {
    const cells = row.children;
    const line = row.position?.start.line ?? 1;
    const idText = textOf(cells, 'id').replace(/[*]/g, '').trim();
    const id = shape.idInCell ? firstWord(idText) : idText.replace(/^task\s+/iu, '');
    const idCell = cellOf(cells, 'id');
    const statusCell = cellOf(cells, 'status');
    const titleCell = cellOf(cells, 'title');
    // Without a status column, write-back marks the title cell (`Scope ✅ 1h 2min`): read it back.
    const written = collapse(textOf(cells, 'title').replace(/\*\*/g, ''));
    const mark = statusCell ? -1 : written.search(TRAILING_STATUS);
    const title = (mark === -1 ? written : written.slice(0, mark).trim()) || id;
    if (!id && !title) continue;
    const statusText = statusCell ? flatText(statusCell) : '';
    const status = statusCell
      ? parseStatus(statusText)
      : mark === -1
        ? null
        : parseStatus(written.slice(mark).trim());
    if (statusCell && status === null) {
      context.diagnostics.push(unknownStatus(statusText, statusCell));
    }
    const groupText = textOf(cells, 'group').replace(/[*`]/g, '').trim();
    const group: GroupRef | null =
      groupText && !isEmptyValue(groupText)
        ? { id: groupText, title: groupText, line, sectionIndex: null }
        : headingGroup;
    const depsCell = cellOf(cells, 'dependencies');
    const estimateText = textOf(cells, 'estimate');
    const branchCell = cellOf(cells, 'branch');
    const inlineBranch = shape.idInCell && idCell ? (codeSpans(idCell)[0] ?? null) : null;
    drafts.push({
      id: id && !isEmptyValue(id) ? id : null,
      title,
      agents: splitAgents(textOf(cells, 'agent'), { dropSkills: shape.agentHasSkills }),
      group,
      dependencies: depsCell
        ? [
            {
              text: flatText(depsCell),
              line: depsCell.position?.start.line ?? line,
              column: (depsCell.position?.start.column ?? 1) + 1,
            },
          ]
        : [],
      estimateHours: estimateText ? parseDuration(estimateText) : null,
      status,
      statusLine: statusCell ? line : null,
      priority: nullIfEmpty(textOf(cells, 'priority')),
      branch: codeOrText(branchCell) ?? inlineBranch,
      worktree: codeOrText(cellOf(cells, 'worktree')),
      files: filesOf(cellOf(cells, 'files')),
      criteria: [],
      details: [],
      dialect: 'table',
      line,
      column: idCell?.position?.start.column ?? 1,
      order: startOffset(row),
      source: {
        dialect: 'table',
        statusCell: statusCell
          ? { start: startOffset(statusCell), end: endOffset(statusCell) }
          : null,
        titleCell:
          !statusCell && titleCell
            ? { start: startOffset(titleCell), end: endOffset(titleCell) }
            : null,
        tableEnd: endOffset(table),
        sectionIndex,
      },
    });
  }
  return drafts;
}

function unknownStatus(text: string, cell: TableCell) {
  return warning(
    'unknown-status',
    `status "${text}" is not one the parser knows; the task is treated as pending`,
    cell.position?.start.line ?? 1,
    (cell.position?.start.column ?? 1) + 1,
    'Use Not Started, In Progress, Blocked, Review, Completed, Failed or Skipped (✅ ❌ ⏭️ marks work too).',
  );
}

function nullIfEmpty(text: string): string | null {
  const trimmed = text.replace(/[*`]/g, '').trim();
  return trimmed === '' || isEmptyValue(trimmed) ? null : trimmed;
}

function codeOrText(cell: TableCell | null): string | null {
  if (!cell) return null;
  return codeSpans(cell)[0] ?? nullIfEmpty(flatText(cell));
}

/** Files in a cell: code spans if any, else a comma list. */
export function filesOf(cell: TableCell | null): string[] {
  if (!cell) return [];
  const codes = codeSpans(cell);
  if (codes.length > 0) return codes;
  return flatText(cell)
    .split(/\s*[,;]\s*/u)
    .map((file) => file.trim())
    .filter((file) => file !== '' && !isEmptyValue(file));
}
