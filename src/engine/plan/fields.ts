import type { List, ListItem, Nodes, Paragraph, PhrasingContent, RootContent } from 'mdast';
import { labelKey, type FieldKey } from './labels.js';
import { codeSpans, collapse, endOffset, lineEndAt, startOffset, textOf } from './markdown.js';

/**
 * A bold-label field: `**Agent:** Builder-1`, `- **Status**: ready`, `**Success Criteria**:` with
 * a list after it. Offsets point into the plan body so write-back can edit just the value.
 */
export interface Field {
  key: FieldKey | null;
  label: string;
  /** The value on the label's line, as readable text. */
  text: string;
  /** Code spans in the value (file paths, branches). */
  codes: string[];
  /** Items of the list that follows an empty value (`**Success Criteria**:` then `- …`). */
  items: string[];
  line: number;
  column: number;
  /** Offsets of the value on the label's line (after the colon and spaces, up to the line end). */
  valueStart: number;
  valueEnd: number;
  /** Offset where the field's line starts, and whether the label sits in a list item. */
  lineStart: number;
  inList: boolean;
}

/** Fields written in a run of blocks (a task block's own content). */
export function fieldsOf(blocks: RootContent[], body: string): Field[] {
  const fields: Field[] = [];
  blocks.forEach((block, index) => {
    const next = blocks[index + 1];
    if (block.type === 'paragraph') {
      fields.push(...paragraphFields(block, body, next?.type === 'list' ? next : null, false));
    } else if (block.type === 'list') {
      fields.push(...listFields(block, body));
    }
  });
  return fields;
}

/** Fields written as list items (`- **Files**: …`), one level deep. */
function listFields(list: List, body: string): Field[] {
  return list.children.flatMap((item) => itemFields(item, body));
}

export function itemFields(item: ListItem, body: string): Field[] {
  const first = item.children[0];
  if (first?.type !== 'paragraph') return [];
  const nested = item.children.find((child): child is List => child.type === 'list') ?? null;
  return paragraphFields(first, body, nested, true);
}

/** A paragraph may hold several fields, one per line (`**Agent:** X` ⏎ `**Priority:** Y`). */
export function paragraphFields(
  paragraph: Paragraph,
  body: string,
  following: List | null,
  inList: boolean,
): Field[] {
  const lines = splitLines(paragraph.children);
  const fields: Field[] = [];
  lines.forEach((nodes, index) => {
    const field = lineField(nodes, body, inList);
    if (!field) return;
    const isLast = index === lines.length - 1;
    if (isLast && field.text === '' && following) field.items = listItems(following);
    fields.push(field);
  });
  return fields;
}

/** Lines of a paragraph that are not fields: the prose around them. */
export function proseLines(paragraph: Paragraph, body: string): string[] {
  return splitLines(paragraph.children)
    .filter((nodes) => lineField(nodes, body, false) === null)
    .map((nodes) => collapse(nodes.map((node) => textOf(node)).join('')))
    .filter((text) => text !== '');
}

function lineField(nodes: PhrasingContent[], body: string, inList: boolean): Field | null {
  const [first, second] = nodes;
  if (first?.type !== 'strong') return null;
  let label = collapse(textOf(first));
  let valueNodes = nodes.slice(1);
  let valueStart = endOffset(first);
  if (label.endsWith(':') || label.endsWith('：')) {
    label = label.slice(0, -1).trim();
  } else if (second?.type === 'text' && /^\s*[:：]/u.test(second.value)) {
    // `**Status**: ready`: the colon is outside the bold.
    const colon = body.indexOf(second.value.includes(':') ? ':' : '：', startOffset(second));
    valueStart = colon + 1;
    valueNodes = [{ ...second, value: second.value.replace(/^\s*[:：]/u, '') }, ...nodes.slice(2)];
  } else {
    return null;
  }
  if (label === '' || label.length > 40) return null;
  const lineEnd = lineEndAt(body, valueStart);
  while (valueStart < lineEnd && /[ \t]/.test(body[valueStart]!)) valueStart += 1;
  let valueEnd = lineEnd;
  while (valueEnd > valueStart && /[ \t]/.test(body[valueEnd - 1]!)) valueEnd -= 1;
  const text = collapse(valueNodes.map((node) => textOf(node)).join(''));
  return {
    key: labelKey(label),
    label,
    text,
    codes: valueNodes.flatMap((node) => codeSpans(node)),
    items: [],
    line: first.position?.start.line ?? 1,
    column: first.position?.start.column ?? 1,
    valueStart,
    valueEnd,
    lineStart: body.lastIndexOf('\n', startOffset(first) - 1) + 1,
    inList,
  };
}

/** Inline content split at line breaks, so each field line can be read on its own. */
function splitLines(children: PhrasingContent[]): PhrasingContent[][] {
  const lines: PhrasingContent[][] = [[]];
  for (const child of children) {
    if (child.type === 'break') {
      lines.push([]);
      continue;
    }
    if (child.type !== 'text' || !child.value.includes('\n')) {
      lines[lines.length - 1]!.push(child);
      continue;
    }
    const parts = child.value.split('\n');
    parts.forEach((part, index) => {
      if (index > 0) lines.push([]);
      if (part !== '') lines[lines.length - 1]!.push({ ...child, value: part });
    });
  }
  return lines.filter((line) => line.length > 0);
}

/** Readable text of each item of a list, checkbox and leading emoji marks removed. */
export function listItems(list: List): string[] {
  return list.children
    .map((item) => {
      const first = item.children[0];
      return first ? collapse(textOf(first as Nodes)).replace(/^(?:✅|✔|☑|\uFE0F|\s)+/u, '') : '';
    })
    .filter((text) => text !== '');
}

/** Fields by key; the first wins, as a person reads top-down. */
export function fieldMap(fields: Field[]): Map<FieldKey, Field> {
  const map = new Map<FieldKey, Field>();
  for (const field of fields) {
    if (field.key && !map.has(field.key)) map.set(field.key, field);
  }
  return map;
}
