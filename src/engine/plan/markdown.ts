import type { Nodes, Root } from 'mdast';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';

const processor = unified().use(remarkParse).use(remarkGfm);

/**
 * The plan text as the parser sees it. micromark drops a leading byte-order mark and counts
 * offsets without it, so we strip it here and keep it aside for write-back.
 */
export interface PlanSource {
  bom: string;
  /** What is parsed: `raw` with each control character replaced by U+FFFD, at the same offset. */
  body: string;
  /** The text after the byte-order mark, as written: what write-back edits. */
  raw: string;
  tree: Root;
  /** Where control characters were replaced: the first of each line (1-based line and column). */
  controls: Array<{ line: number; column: number; code: number }>;
}

// Control characters but tab, line feed and carriage return. No plan needs one, and in a title,
// an agent name or an id they reach the terminal (ESC [2J clears it, ESC ]0; retitles it, ESC [1A
// writes over the line above), the report and the agents' prompts. With them the bidirectional
// embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): a title holding one shows
// its text in another order than it is read (in the terminal, the dashboard, the pull request), so
// that what a reviewer sees is not what the agent is told. Right-to-left text needs none of them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Whether `code` is one of the bidirectional formatting characters CONTROL replaces. */
export function isBidiControl(code: number): boolean {
  return (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

/**
 * `text` with each character CONTROL names replaced by U+FFFD, and how many were (for a plan
 * read from JSON, where no line says where).
 */
export function neutralise(text: string): { text: string; replaced: number } {
  let replaced = 0;
  const out = text.replace(CONTROL, () => {
    replaced += 1;
    return '\uFFFD';
  });
  return { text: out, replaced };
}

export function readSource(text: string): PlanSource {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const raw = bom ? text.slice(1) : text;
  const controls: PlanSource['controls'] = [];
  // Lines counted as the matches go (a binary file has a control character every few bytes).
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  // One UTF-16 unit for one: every offset (positions, write-back's spans) stays the same.
  const body = raw.replace(CONTROL, (char, offset: number) => {
    const reported = controls.length > 0 ? controls[controls.length - 1]!.line : 0;
    for (
      let at = raw.indexOf('\n', counted);
      at !== -1 && at < offset;
      at = raw.indexOf('\n', at + 1)
    ) {
      line += 1;
      lineStart = at + 1;
    }
    counted = offset;
    if (line !== reported) {
      controls.push({ line, column: offset - lineStart + 1, code: char.charCodeAt(0) });
    }
    return '\uFFFD';
  });
  return { bom, body, raw, tree: processor.parse(body), controls };
}

/** The readable text of a node: what a person sees, without Markdown syntax. */
export function textOf(node: Nodes): string {
  switch (node.type) {
    case 'text':
    case 'inlineCode':
      return node.value;
    case 'break':
      return '\n';
    case 'image':
      return node.alt ?? '';
    case 'html':
    case 'code':
    case 'yaml':
      return '';
    default:
      return 'children' in node
        ? node.children.map((child) => textOf(child as Nodes)).join('')
        : '';
  }
}

/** Single-line form: soft line breaks and runs of spaces become one space. */
export function flatText(node: Nodes): string {
  return collapse(textOf(node));
}

export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function startOffset(node: Nodes): number {
  return node.position?.start.offset ?? 0;
}

export function endOffset(node: Nodes): number {
  return node.position?.end.offset ?? 0;
}

/** The code spans inside a node, in order (file paths are usually written as code). */
export function codeSpans(node: Nodes): string[] {
  if (node.type === 'inlineCode') return [node.value];
  if (!('children' in node)) return [];
  return node.children.flatMap((child) => codeSpans(child as Nodes));
}

/** Offset just before the end of the line containing `offset` (the `\n` or `\r\n`, or EOF). */
export function lineEndAt(body: string, offset: number): number {
  const newline = body.indexOf('\n', offset);
  if (newline === -1) return body.length;
  return newline > 0 && body[newline - 1] === '\r' ? newline - 1 : newline;
}
