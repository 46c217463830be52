import type { Heading, Root, RootContent } from 'mdast';
import { flatText, startOffset } from './markdown.js';

/**
 * A heading and what it owns. mdast keeps headings flat beside the content; the parser needs the
 * nesting (a task under an agent heading under a phase heading), so the outline rebuilds it.
 */
export interface Section {
  /** null for the preamble before the first heading. */
  heading: Heading | null;
  depth: number;
  title: string;
  parent: Section | null;
  children: Section[];
  /** Blocks between this heading and the next heading of any depth. */
  own: RootContent[];
  /** Offset where the section ends: the next heading at the same or a higher level, or EOF. */
  end: number;
  /** Document order of the heading. */
  index: number;
}

export function buildOutline(tree: Root, bodyLength: number): Section[] {
  const preamble: Section = {
    heading: null,
    depth: 0,
    title: '',
    parent: null,
    children: [],
    own: [],
    end: bodyLength,
    index: 0,
  };
  const sections: Section[] = [preamble];
  const stack: Section[] = [preamble];
  for (const node of tree.children) {
    if (node.type !== 'heading') {
      stack[stack.length - 1]!.own.push(node);
      continue;
    }
    while (stack.length > 1 && stack[stack.length - 1]!.depth >= node.depth) {
      stack.pop()!.end = startOffset(node);
    }
    const parent = stack[stack.length - 1]!;
    const section: Section = {
      heading: node,
      depth: node.depth,
      title: flatText(node),
      parent,
      children: [],
      own: [],
      end: bodyLength,
      index: sections.length,
    };
    parent.children.push(section);
    sections.push(section);
    stack.push(section);
  }
  return sections;
}

/** The section itself, then its parents up to the preamble. */
export function ancestry(section: Section): Section[] {
  const chain: Section[] = [];
  for (let current: Section | null = section; current; current = current.parent) {
    chain.push(current);
  }
  return chain;
}

/** What a heading says about itself: its blocks up to a thematic break (`---` ends a section). */
export function ownBlocks(section: Section): RootContent[] {
  const end = section.own.findIndex((block) => block.type === 'thematicBreak');
  return end === -1 ? section.own : section.own.slice(0, end);
}
