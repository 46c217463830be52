import type { List, ListItem, Paragraph } from 'mdast';
import { cleanAgentName, looksLikeAgent, splitAgents } from '../agent-names.js';
import { warning, type DialectContext, type GroupRef, type TaskDraft } from '../draft.js';
import { parseDuration } from '../estimates.js';
import { itemFields, listItems } from '../fields.js';
import { labelKey } from '../labels.js';
import { isIdLike } from '../ids.js';
import { collapse, endOffset, flatText, startOffset, textOf } from '../markdown.js';
import { parseStatus, STATUS_MARK, TRAILING_STATUS } from '../status.js';

/**
 * The seed's task lines, in any list:
 *   - [ ] Task 1.1: Implement login (Agent: Builder-1, Est: 4h)
 *   - [ ] 2.1: Implement JWT service (Builder-1, 6h) ✅ 1h 32min
 *   - Task 3.1: Build /auth/login endpoint (Builder-1)
 *   - Task: Unit tests (Validator-1)
 *   - **4A.** Difficulty scorer pretraining   (under a heading that names the agent)
 */
export interface LineContext {
  group: GroupRef | null;
  /** The agent the enclosing headings name, if any. */
  agent: string | null;
  sectionIndex: number;
}

interface Head {
  id: string | null;
  /** The text after the id: title, parenthesis, status mark. */
  rest: string;
  /** Written with the word `Task`: a task even without an agent. */
  explicit: boolean;
  boldId: boolean;
}

const TASK_WORD = String.raw`(?:task|tarefa|tarea|tâche|aufgabe|任务)`;
const TASK_WITH_ID = new RegExp(String.raw`^${TASK_WORD}\s+([\w.-]+?)\s*[:：.\-–—]\s+(.+)$`, 'iu');
const TASK_NO_ID = new RegExp(String.raw`^${TASK_WORD}\s*[:：\-–—]\s*(.+)$`, 'iu');
const DOTTED_ID = /^(\d+(?:\.\d+)+)\s*[:：.]?\s+(.+)$/u;
const LABELLED_ID = /^([A-Za-z][\w.-]*\d[\w.-]*)\s*[:：]\s+(.+)$/u;

export function readTaskLines(
  list: List,
  context: LineContext,
  dialect: DialectContext,
): TaskDraft[] {
  const drafts: TaskDraft[] = [];
  const passedOver: ListItem[] = [];
  let ownTasks = 0;
  for (const item of list.children) {
    const draft = readTaskLine(item, list, context, dialect);
    if (draft) {
      drafts.push(draft);
      ownTasks += 1;
      continue;
    }
    passedOver.push(item);
    for (const child of item.children) {
      if (child.type === 'list') drafts.push(...readTaskLines(child, context, dialect));
    }
  }
  // Beside task lines, a line written like one is a task the author meant: said, not skipped.
  if (ownTasks > 0) for (const item of passedOver) reportPassedOver(item, dialect);
  return drafts;
}

/**
 * A list item with a task id (`1.2: …`, `Task 1.2: …`) that is not read as a task, in a list whose
 * other lines are tasks: its agent is missing or not recognised. Not run, yet its group could be
 * marked completed without it, so the user is told where it is and what to write.
 */
function reportPassedOver(item: ListItem, dialect: DialectContext): void {
  const paragraph = item.children[0];
  if (paragraph?.type !== 'paragraph') return;
  const head = readHead(paragraph);
  if (head?.id == null) return;
  const parens = /^(.*?)\s*\(([^()]*)\)\s*$/su.exec(head.rest.trim());
  const title = cleanTitle(parens ? parens[1]! : head.rest) || 'Its title';
  const line = item.position?.start.line ?? 1;
  const column = item.position?.start.column ?? 1;
  const consequence = 'it will not run, and its group can be marked completed without it';
  // An agent is there, with something else beside it (`depends on 1.1`, a note): that is what
  // keeps the line from being read, not the agent.
  const parts = parens ? parens[2]!.split(/\s*[,;]\s*/u).filter((part) => part.trim() !== '') : [];
  const known = dialect.knownAgents;
  const stray = parts.filter((part) => !readParens(part, known));
  if (stray.length > 0 && stray.length < parts.length && parts.some((p) => isAgentPart(p, known))) {
    const kept = parts.filter((part) => !stray.includes(part)).join(', ');
    dialect.diagnostics.push(
      warning(
        'task-line-not-read',
        `"${head.id}" is written like the task lines beside it but is not read as a task (${stray.map((part) => `"${part.trim()}"`).join(', ')} in "(${parens![2]!.trim()})" is neither an agent nor an estimate): ${consequence}`,
        line,
        column,
        `Keep only its agent and estimate in the parentheses, "${head.id}: ${title} (${kept})"; its dependencies go on a line under it, "- Dependencies: <task id>, …".`,
      ),
    );
    return;
  }
  const why = parens
    ? `"(${parens[2]!.trim()})" names no agent the plan knows`
    : 'it names no agent in parentheses';
  // `Builder 2`, `builder_2`: the agent meant, written without its hyphen.
  const meant = parts.map((part) => /^([A-Za-z][A-Za-z]*)[\s_]+(\d+)$/u.exec(part.trim()));
  const suggested = meant.some((match) => match !== null)
    ? parts
        .map((part, i) => (meant[i] ? `${meant[i]![1]}-${meant[i]![2]}` : part.trim()))
        .join(', ')
    : 'Builder-1, 1h';
  dialect.diagnostics.push(
    warning(
      'task-line-not-read',
      `"${head.id}" is written like the task lines beside it but is not read as a task (${why}): ${consequence}`,
      line,
      column,
      `Name its agent like theirs, e.g. "${head.id}: ${title} (${suggested})". Agents read as such look like Role-N (Builder-1, Validator-2), or are named in an **Agent**: field or an agents table of the plan.`,
    ),
  );
}

/** One part of a task line's parenthesis that names an agent (`Builder-2`, `Agent: Ana`). */
function isAgentPart(part: string, known: ReadonlyMap<string, string>): boolean {
  return (readParens(part, known)?.agents.length ?? 0) > 0;
}

function readTaskLine(
  item: ListItem,
  list: List,
  context: LineContext,
  dialect: DialectContext,
): TaskDraft | null {
  const paragraph = item.children[0];
  if (paragraph?.type !== 'paragraph') return null;
  const head = readHead(paragraph);
  if (!head) return null;
  const {
    title,
    agents: parenAgents,
    estimate,
    status: markStatus,
    hadMark,
  } = readRest(head.rest, dialect.knownAgents);
  if (title === '') return null;
  const agents = parenAgents.length > 0 ? parenAgents : context.agent ? [context.agent] : [];
  // An id with an agent in parentheses is a task line, and so is a seed number (`2.1:`) with an
  // estimate only (its agent is missing, which validation reports); "Task: …" needs an agent
  // (templates write "- TASK: [Task ID]"); a bold id needs an agent heading above it.
  const accepted =
    (head.explicit && (head.id !== null || agents.length > 0)) ||
    parenAgents.length > 0 ||
    (head.id !== null && /^\d+(\.\d+)+$/u.test(head.id) && estimate !== null) ||
    (head.id !== null && head.boldId && context.agent !== null);
  if (!accepted) return null;

  const nested = nestedParts(item, dialect.body);
  const status = markStatus ?? (item.checked === true ? 'completed' : nested.status);
  const line = item.position?.start.line ?? 1;
  return {
    id: head.id,
    title,
    agents,
    group: context.group,
    dependencies: nested.dependencies.map((text) => ({ text, line, column: 1 })),
    estimateHours: estimate,
    status,
    statusLine: line,
    priority: nested.priority,
    branch: nested.branch,
    worktree: nested.worktree,
    files: nested.files,
    criteria: nested.criteria,
    details: nested.details,
    ...seedItemPlace(item, list, paragraph, {
      markStart: hadMark ? markOffset(paragraph, dialect.body, dialect.knownAgents) : null,
      sectionIndex: context.sectionIndex,
      body: dialect.body,
    }),
  };
}

/**
 * Where a task written as a list item stands, and the spans write-back edits in it (checkbox,
 * status mark, end of its list); the same for task lines and checklist items.
 */
export function seedItemPlace(
  item: ListItem,
  list: List,
  paragraph: Paragraph,
  place: { markStart: number | null; sectionIndex: number; body: string },
): Pick<TaskDraft, 'dialect' | 'line' | 'column' | 'order' | 'source'> {
  return {
    dialect: 'seed',
    line: item.position?.start.line ?? 1,
    column: item.position?.start.column ?? 1,
    order: startOffset(item),
    source: {
      dialect: 'seed',
      itemStart: startOffset(item),
      checkbox: checkboxSpan(item, place.body),
      textEnd: endOffset(paragraph),
      markStart: place.markStart,
      listEnd: endOffset(list),
      sectionIndex: place.sectionIndex,
    },
  };
}

function readHead(paragraph: Paragraph): Head | null {
  const [first] = paragraph.children;
  const text = collapse(textOf(paragraph));
  if (first?.type === 'strong') {
    const bold = collapse(textOf(first)).replace(/^task\s+/iu, '');
    const word = bold.replace(/[.:：]$/u, '');
    if (isIdLike(word)) {
      const rest = collapse(text.slice(collapse(textOf(first)).length)).replace(
        /^[:：.\-–—]\s*/u,
        '',
      );
      return { id: word, rest, explicit: /^task\s/iu.test(textOf(first)), boldId: true };
    }
  }
  const withId = TASK_WITH_ID.exec(text);
  if (withId && isIdLike(withId[1]!))
    return { id: withId[1]!, rest: withId[2]!, explicit: true, boldId: false };
  const withNumber = /^(?:task|tarefa|tarea)\s+(\d+)\s*[:：.\-–—]\s+(.+)$/iu.exec(text);
  if (withNumber)
    return { id: withNumber[1]!, rest: withNumber[2]!, explicit: true, boldId: false };
  const noId = TASK_NO_ID.exec(text);
  if (noId) return { id: null, rest: noId[1]!, explicit: true, boldId: false };
  const dotted = DOTTED_ID.exec(text);
  if (dotted) return { id: dotted[1]!, rest: dotted[2]!, explicit: false, boldId: false };
  const labelled = LABELLED_ID.exec(text);
  if (labelled && isIdLike(labelled[1]!)) {
    return { id: labelled[1]!, rest: labelled[2]!, explicit: false, boldId: false };
  }
  return null;
}

interface Rest {
  title: string;
  agents: string[];
  estimate: number | null;
  status: TaskDraft['status'];
  hadMark: boolean;
}

/** `Implement JWT service (Builder-1, 6h) ✅ 1h 32min` → title, agents, estimate, status. */
export function readRest(rest: string, known: ReadonlyMap<string, string>): Rest {
  const markAt = markIndex(rest, known);
  const before = markAt === -1 ? rest : rest.slice(0, markAt);
  const mark = markAt === -1 ? '' : rest.slice(markAt);
  const status = mark ? parseStatus(mark) : null;
  const parens = /^(.*?)\s*\(([^()]*)\)\s*$/su.exec(before.trim());
  const parts = parens ? readParens(parens[2]!, known) : null;
  if (!parens || !parts) {
    return { title: cleanTitle(before), agents: [], estimate: null, status, hadMark: mark !== '' };
  }
  return {
    title: cleanTitle(parens[1]!),
    agents: parts.agents,
    estimate: parts.estimate,
    status,
    hadMark: mark !== '',
  };
}

/** `Agent: Builder-1, Est: 4h` / `Builder-1, 6h` / `Builder-1, Builder-2`; null if it is a note. */
export function readParens(
  inside: string,
  known: ReadonlyMap<string, string>,
): { agents: string[]; estimate: number | null } | null {
  const agents: string[] = [];
  let estimate: number | null = null;
  for (const raw of inside.split(/\s*[,;]\s*/u)) {
    const part = raw.trim();
    if (part === '') continue;
    const labelled = /^(agents?|owner|assigned to|est|estimate|eta|effort)\s*[:=]\s*(.+)$/iu.exec(
      part,
    );
    if (labelled) {
      if (/^(est|estimate|eta|effort)$/iu.test(labelled[1]!)) {
        estimate = parseDuration(labelled[2]!);
      } else {
        agents.push(...splitAgents(labelled[2]!));
      }
      continue;
    }
    const hours = parseDuration(part);
    if (hours !== null) {
      estimate = hours;
      continue;
    }
    const name = cleanAgentName(part);
    if (!looksLikeAgent(name, known)) return null;
    agents.push(name);
  }
  if (agents.length === 0 && estimate === null) return null;
  return { agents, estimate };
}

/**
 * Where the status mark starts (`✅ 1h 32min` after `(Builder-1, 6h)`), or -1. After an agent
 * parenthesis, only what follows it can be a mark (a title may hold ⛔, a mark may hold
 * "(warnings)"); without one, a mark that ends the text (see TRAILING_STATUS).
 */
function markIndex(text: string, known: ReadonlyMap<string, string>): number {
  const groups = [...text.matchAll(/\(([^()]*)\)/gu)].reverse();
  for (const group of groups) {
    if (!readParens(group[1]!, known)) continue;
    const end = group.index + group[0].length;
    const after = text.slice(end);
    const lead = after.length - after.trimStart().length;
    return new RegExp(`^${STATUS_MARK.source}`, 'u').test(after.trimStart()) ? end + lead : -1;
  }
  // Without one, a mark at the end only: "Show a ✅ next to passing builds" is a title.
  const match = TRAILING_STATUS.exec(text.trimEnd());
  return match ? match.index + 1 : -1;
}

function cleanTitle(text: string): string {
  return collapse(text).replace(/[\s:：\-–—]+$/u, '');
}

/** Offset of the status mark written after the task text (`✅ 1h 32min`), or null. */
export function markOffset(
  paragraph: Paragraph,
  body: string,
  known: ReadonlyMap<string, string>,
): number | null {
  const start = startOffset(paragraph);
  const index = markIndex(body.slice(start, endOffset(paragraph)), known);
  return index === -1 ? null : start + index;
}

/** `[ ]` / `[x]` after the list marker; micromark does not give the checkbox a node. */
export function checkboxSpan(item: ListItem, body: string): { start: number; end: number } | null {
  if (item.checked === null || item.checked === undefined) return null;
  const start = startOffset(item);
  const match = /^(?:[-*+]|\d+[.)])[ \t]+(\[[ xX]\])/u.exec(body.slice(start, start + 16));
  if (!match) return null;
  const offset = start + match[0].length - 3;
  return { start: offset, end: offset + 3 };
}

interface Nested {
  criteria: string[];
  details: string[];
  files: string[];
  dependencies: string[];
  status: TaskDraft['status'];
  priority: string | null;
  branch: string | null;
  worktree: string | null;
}

/** What a task item nests: a checklist of success criteria, fields, notes. */
function nestedParts(item: ListItem, body: string): Nested {
  const nested: Nested = {
    criteria: [],
    details: [],
    files: [],
    dependencies: [],
    status: null,
    priority: null,
    branch: null,
    worktree: null,
  };
  for (const child of item.children.slice(1)) {
    if (child.type !== 'list') {
      const text = flatText(child);
      if (text) nested.details.push(text);
      continue;
    }
    for (const sub of child.children) readNestedItem(sub, body, nested);
  }
  return nested;
}

function readNestedItem(sub: ListItem, body: string, nested: Nested): void {
  const text = sub.children[0] ? flatText(sub.children[0]) : '';
  if (sub.checked === true || sub.checked === false) {
    if (text) nested.criteria.push(text);
    return;
  }
  const [field] = itemFields(sub, body);
  if (!field?.key) {
    // `- Dependencies: 1.1` under a task line, the label not bold: what a person writes for a
    // task's own dependencies. Read as a detail, the task ran beside the one it waits for, and
    // validate said nothing.
    const plain = /^([^:：]{1,40})[:：]\s*(\S.*)$/su.exec(text);
    if (plain && labelKey(plain[1]!) === 'dependencies') {
      nested.dependencies.push(plain[2]!.trim());
      return;
    }
    if (text) nested.details.push(text);
    return;
  }
  const inner = sub.children.find((child): child is List => child.type === 'list');
  switch (field.key) {
    case 'criteria':
      nested.criteria.push(...(field.text ? [field.text] : []), ...(inner ? listItems(inner) : []));
      return;
    case 'files':
      nested.files.push(...(field.codes.length > 0 ? field.codes : field.text.split(/\s*,\s*/u)));
      return;
    case 'dependencies':
      nested.dependencies.push(field.text);
      return;
    case 'status':
      nested.status = parseStatus(field.text);
      return;
    case 'priority':
      nested.priority = field.text || null;
      return;
    case 'branch':
      nested.branch = field.codes[0] ?? (field.text || null);
      return;
    case 'worktree':
      nested.worktree = field.codes[0] ?? (field.text || null);
      return;
    default:
      if (text) nested.details.push(text);
  }
}
