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
  body: string;
  tree: Root;
}

export function readSource(text: string): PlanSource {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const body = bom ? text.slice(1) : text;
  return { bom, body, tree: processor.parse(body) };
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
