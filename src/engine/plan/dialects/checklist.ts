import type { List, ListItem, Paragraph } from 'mdast';
import { agentKey } from '../agent-names.js';
import type { DialectContext, GroupRef, TaskDraft } from '../draft.js';
import { codeSpans, collapse, endOffset, flatText, textOf } from '../markdown.js';
import type { TaskStatus } from '../schema.js';
import { parseStatus } from '../status.js';
import { markOffset, seedItemPlace } from './seed.js';

/**
 * Checklist boards, read only when a plan has no task lines, task tables or task blocks (in
 * those, checklists are success criteria):
 *   ### Agent 2 Tasks            - [ ] hooks/useAnalyzing.ts
 *   ### Needs Review/Test        - [ ] **[Bugfix] Stats bleeding** (`route.ts`) — **DB Agent**, 2026-06-05
 * A checkbox item is a task when it names a known agent in bold, or sits under a heading that
 * names one. The section heading's status (`In Progress`, `Completed`) applies to open items.
 */
export interface ChecklistContext {
  group: GroupRef | null;
  agent: string | null;
  status: TaskStatus | null;
  sectionIndex: number;
}

export function readChecklist(
  list: List,
  context: ChecklistContext,
  dialect: DialectContext,
): TaskDraft[] {
  const drafts: TaskDraft[] = [];
  for (const item of list.children) {
    const draft = readItem(item, list, context, dialect);
    if (draft) drafts.push(draft);
  }
  return drafts;
}

function readItem(
  item: ListItem,
  list: List,
  context: ChecklistContext,
  dialect: DialectContext,
): TaskDraft | null {
  if (item.checked !== true && item.checked !== false) return null;
  const paragraph = item.children[0];
  if (paragraph?.type !== 'paragraph') return null;
  const named = boldAgent(paragraph, dialect.knownAgents);
  const agent = named ?? context.agent;
  if (!agent) return null;
  const title = titleOf(paragraph, named)
    .replace(/\s(?:✅|⚠️?|❌|⏭️?).*$/u, '')
    .trim();
  if (title === '') return null;
  const line = item.position?.start.line ?? 1;
  const markStart = markOffset(paragraph, dialect.body, dialect.knownAgents);
  const markStatus =
    markStart === null ? null : parseStatus(dialect.body.slice(markStart, endOffset(paragraph)));
  return {
    id: null,
    title,
    agents: [agent],
    group: context.group,
    dependencies: [],
    estimateHours: null,
    status: markStatus ?? (item.checked ? 'completed' : (context.status ?? 'pending')),
    statusLine: line,
    priority: null,
    branch: null,
    worktree: null,
    files: filesOf(paragraph, title),
    criteria: [],
    details: item.children
      .slice(1)
      .map((child) => flatText(child))
      .filter((text) => text !== ''),
    ...seedItemPlace(item, list, paragraph, {
      markStart,
      sectionIndex: context.sectionIndex,
      body: dialect.body,
    }),
  };
}

function boldAgent(paragraph: Paragraph, known: ReadonlyMap<string, string>): string | null {
  for (const child of paragraph.children) {
    if (child.type !== 'strong') continue;
    const name = collapse(textOf(child)).replace(/[:：]$/u, '');
    if (known.has(agentKey(name))) return name;
  }
  return null;
}

/** The bold lead if there is one (not the agent), else the text before ` — agent, date`. */
function titleOf(paragraph: Paragraph, agent: string | null): string {
  const [first] = paragraph.children;
  if (first?.type === 'strong') {
    const lead = collapse(textOf(first)).replace(/[:：]$/u, '');
    if (lead !== agent) return lead;
    return collapse(textOf(paragraph).slice(textOf(first).length)).replace(/^[:：\s]+/u, '');
  }
  return collapse(textOf(paragraph).split(/\s[—–]\s/u)[0] ?? '');
}

/** Paths in code spans, or a title that is itself a path (`hooks/useChat.ts`). */
function filesOf(paragraph: Paragraph, title: string): string[] {
  const paths = codeSpans(paragraph).filter(looksLikePath);
  if (paths.length > 0) return paths;
  const word = title.split(/\s+/u)[0] ?? '';
  return looksLikePath(word) ? [word] : [];
}

function looksLikePath(text: string): boolean {
  return /^[\w.@[\]-]+(?:\/[\w.@[\]*-]*)+$|^[\w-]+\.[a-z]{1,5}$/u.test(text);
}
