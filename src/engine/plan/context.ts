import { agentKey } from './agent-names.js';
import type { GroupRef } from './draft.js';
import { ancestry, type Section } from './outline.js';
import type { TaskStatus } from './schema.js';
import { parseStatus, STATUS_MARK } from './status.js';

export interface GroupHeading {
  id: string;
  title: string;
  /** A seed `Parallel Group` heading: a group even before it has tasks. */
  explicit: boolean;
  status: TaskStatus | null;
  /** `(After Phase 1)` in the heading: what the group waits for. */
  after: string | null;
}

const SEP = String.raw`\s*(?:[:：.\-–—]\s*(.*))?$`;
const PARALLEL_GROUP = new RegExp(
  String.raw`^parallel\s+group\b\s*([A-Za-z0-9]+(?:\.\d+)?)?` + SEP,
  'iu',
);
const NAMED_GROUP = new RegExp(
  String.raw`^(?:group|phase|wave|batch|stage|sprint|milestone|round|grupo|fase|etapa|lote|阶段|批次|波次)\s*([A-Za-z]?\d+[A-Za-z]?|[A-Z])` +
    SEP,
  'iu',
);
const WORKSTREAM_GROUP = /^(WS[-_ ]?[A-Za-z0-9]+)\s*(?:[:：\-–—]\s*(.*))?$/u;

/** Is this heading a group of tasks (`Parallel Group 2: Core Auth`, `Phase 1`, `Batch 0：…`)? */
export function groupHeading(rawTitle: string): GroupHeading | null {
  const { text, status } = stripStatusMark(rawTitle);
  const explicit = PARALLEL_GROUP.exec(text);
  if (explicit) {
    const title = (explicit[2] ?? '').trim();
    const id = explicit[1] ?? (title || 'Parallel Group');
    return { id, title: title || text, explicit: true, status, after: afterText(title) };
  }
  const named = NAMED_GROUP.exec(text) ?? WORKSTREAM_GROUP.exec(text);
  if (!named) return null;
  const title = (named[2] ?? '').trim();
  return { id: named[1]!, title: title || text, explicit: false, status, after: afterText(title) };
}

function afterText(title: string): string | null {
  return /\((?:after|após|depois de|después de)\s+([^)]+)\)/iu.exec(title)?.[1]?.trim() ?? null;
}

/** `Core Auth ✅ COMPLETED` → text `Core Auth`, status completed. */
export function stripStatusMark(raw: string): { text: string; status: TaskStatus | null } {
  const mark =
    /\s*(?:[-–—]\s*)?(?:(?:✅|⚠️?|❌|⏭️?)\s*)?\b(COMPLETED|COMPLETE|DONE|FAILED|SKIPPED|IN PROGRESS|BLOCKED)\b\s*(?:✅|⚠️?|❌|⏭️?)?\s*$/u.exec(
      raw,
    );
  if (mark) return { text: raw.slice(0, mark.index).trim(), status: parseStatus(mark[0]) };
  const emoji = new RegExp(String.raw`\s*${STATUS_MARK.source}\s*$`, 'u').exec(raw);
  if (emoji)
    return { text: raw.slice(0, emoji.index).trim(), status: parseStatus(emoji[0].trim()) };
  return { text: raw.trim(), status: null };
}

/** The nearest enclosing group, for a block or a list found in `section`. */
export function groupOf(
  section: Section,
  groups: ReadonlyMap<number, GroupRef>,
  skipSelf: boolean,
): GroupRef | null {
  return nearest(section, skipSelf, (current) => groups.get(current.index));
}

/** A heading that names an agent (`### claude-opus — Grammar`, `### Agent 1 Tasks`). */
function agentOfHeading(title: string, known: ReadonlyMap<string, string>): string | null {
  let best: string | null = null;
  const lower = title.toLowerCase();
  for (const name of known.values()) {
    const candidate = name.toLowerCase();
    if (!lower.startsWith(candidate)) continue;
    const next = title[candidate.length];
    if (next !== undefined && /[\p{L}\p{N}_]/u.test(next)) continue;
    if (!best || name.length > best.length) best = title.slice(0, candidate.length);
  }
  return best;
}

/** The agent a section's headings assign (nearest first). */
export function agentContext(
  section: Section,
  known: ReadonlyMap<string, string>,
  skipSelf: boolean,
): string | null {
  return nearest(section, skipSelf, (current) =>
    current.heading ? agentOfHeading(current.title, known) : null,
  );
}

/** The first thing `pick` finds in `section` or the sections around it, nearest first. */
function nearest<T>(
  section: Section,
  skipSelf: boolean,
  pick: (current: Section) => T | null | undefined,
): T | null {
  for (const current of ancestry(section)) {
    if (skipSelf && current === section) continue;
    const found = pick(current);
    if (found) return found;
  }
  return null;
}

/** Known agent names keyed by `agentKey`, as first written. */
export function addKnownAgent(known: Map<string, string>, name: string): void {
  const key = agentKey(name);
  if (key !== '' && !known.has(key)) known.set(key, name);
}
