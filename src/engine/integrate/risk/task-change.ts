import type { RepoGit } from '../repo.js';
import { parseDiff } from './diff-hunks.js';
import { enclosing, outlinerFor, type Outline } from './outline.js';

/** A definition that existed at the base, pinned to its file there. */
export interface ChangedSymbol {
  path: string;
  name: string;
}

/**
 * A name the changed code uses, in the file at the tip: on a line the change added, or anywhere
 * in a definition it changed (`within` names that definition).
 */
export interface NewReference {
  path: string;
  line: number;
  name: string;
  within: string | null;
}

/** What one branch did to the code since a base, in terms of definitions and names. */
export interface TaskChange {
  /** Definitions present at the base whose lines the change touched (removed, added or replaced). */
  changed: ChangedSymbol[];
  /**
   * Identifiers on the lines the change added and in the functions, methods and values it changed
   * (their whole body at the tip), excluding names they declare.
   */
  references: NewReference[];
  /** Every file the change touched, at the tip (at the base for deletions). */
  files: string[];
}

/** Parsed files, by `commit:path`: a run looks at the same base files for every pair. */
export type OutlineCache = Map<string, Promise<Outline | null>>;

/**
 * Map each hunk of `git diff -U0 base tip` to the innermost definition around it: at the base for
 * removed lines, at the tip for added lines. A definition the tip adds is not "changed" (nothing
 * else can rely on it yet), so only names that exist in the base file count.
 */
export async function taskChange(
  repo: RepoGit,
  base: string,
  tip: string,
  cache: OutlineCache,
): Promise<TaskChange> {
  const diff = await repo.run([
    '-c',
    'core.quotePath=false',
    'diff',
    '-U0',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '-M',
    base,
    tip,
  ]);
  const changed = new Map<string, ChangedSymbol>();
  const references: NewReference[] = [];
  const files: string[] = [];
  for (const file of parseDiff(diff.stdout)) {
    files.push(file.tipPath ?? file.basePath!);
    const baseOutline =
      file.basePath === null ? null : await outline(repo, base, file.basePath, cache);
    const tipOutline = file.tipPath === null ? null : await outline(repo, tip, file.tipPath, cache);
    const atBase = new Set(baseOutline?.definitions.map((definition) => definition.name));
    const mark = (name: string | undefined) => {
      if (name === undefined || !atBase.has(name)) return;
      changed.set(`${file.basePath}\0${name}`, { path: file.basePath!, name });
    };
    if (baseOutline !== null) {
      for (const line of file.removed) mark(enclosing(baseOutline, line)?.name);
    }
    if (tipOutline === null) continue;
    for (const line of file.added) mark(enclosing(tipOutline, line)?.name);
    const added = new Set(file.added);
    const changedHere = new Set(
      [...changed.values()].filter((symbol) => symbol.path === file.basePath).map((s) => s.name),
    );
    const bodies = tipOutline.definitions.filter(
      (definition) => definition.kind === 'code' && changedHere.has(definition.name),
    );
    for (const reference of tipOutline.references) {
      const body = bodies.find((definition) => within(definition, reference.line));
      if (body === undefined && !added.has(reference.line)) continue;
      references.push({ path: file.tipPath!, ...reference, within: body?.name ?? null });
    }
  }
  return { changed: [...changed.values()], references, files };
}

function within(definition: { start: number; end: number }, line: number): boolean {
  return line >= definition.start && line <= definition.end;
}

function outline(
  repo: RepoGit,
  commit: string,
  path: string,
  cache: OutlineCache,
): Promise<Outline | null> {
  const outliner = outlinerFor(path);
  if (outliner === null) return Promise.resolve(null);
  const key = `${commit}:${path}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = (async () => {
      const blob = await repo.run(['cat-file', 'blob', `${commit}:${path}`], [128]);
      return blob.exitCode === 0 ? outliner(blob.stdout, path) : null;
    })();
    cache.set(key, found);
  }
  return found;
}
