import { extname } from 'node:path';
import { outlinePython } from './python-outline.js';
import { outlineTypeScript } from './typescript-outline.js';

/**
 * A definition that a change can be pinned to: a top-level function, class, constant or type, or
 * a member of a class (method, property, class attribute), named with its class (`Context.invoke`).
 * Functions nested in a function body belong to that function. Lines are 1-based and inclusive.
 */
export interface Definition {
  name: string;
  start: number;
  end: number;
  /**
   * `code` for functions, methods and values, whose whole body is behaviour; a `class` or a
   * `type` is a container of members or a shape, so only its changed lines count as using names.
   */
  kind: 'code' | 'class' | 'type';
}

/** An identifier used in the code (a name, or a property after a dot), and its line. */
export interface Reference {
  name: string;
  line: number;
}

export interface Outline {
  definitions: Definition[];
  references: Reference[];
}

export type Outliner = (source: string, path: string) => Promise<Outline>;

/** One parser per family of file names; a new language is one outliner and one line here. */
const OUTLINERS: readonly { extensions: readonly string[]; outline: Outliner }[] = [
  {
    extensions: ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'],
    outline: outlineTypeScript,
  },
  { extensions: ['.py', '.pyi'], outline: outlinePython },
];

/** The parser for a file, or null when its language is not supported (it is then skipped). */
export function outlinerFor(path: string): Outliner | null {
  const extension = extname(path).toLowerCase();
  return OUTLINERS.find((entry) => entry.extensions.includes(extension))?.outline ?? null;
}

/** The innermost definition holding `line`. */
export function enclosing(outline: Outline, line: number): Definition | null {
  let best: Definition | null = null;
  for (const definition of outline.definitions) {
    if (line < definition.start || line > definition.end) continue;
    if (best === null || definition.end - definition.start < best.end - best.start) {
      best = definition;
    }
  }
  return best;
}
