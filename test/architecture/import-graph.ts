import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One relative import: the file that has it, the line, and the file it resolves to. */
export interface ImportEdge {
  from: string;
  line: number;
  to: string;
}

/** Every `.ts` file under `dir`, as paths relative to `root`, sorted. */
export function sourceFiles(root: string, dir: string, extension = '.ts'): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith(extension)) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The relative imports of the files (static, type-only, re-exports and dynamic `import()`), as
 * TypeScript itself reads them, so no import form slips past a regular expression.
 */
export function relativeImports(root: string, files: string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const to = path.posix
        .normalize(path.posix.join(path.posix.dirname(file), ref.fileName))
        .replace(/\.js$/, '.ts');
      const line = text.slice(0, ref.pos).split('\n').length;
      edges.push({ from: file, line, to });
    }
  }
  return edges;
}

/** The packages the files import (`@scope/name` or `name`), Node's built-ins left out. */
export function importedPackages(root: string, files: string[]): Set<string> {
  const packages = new Set<string>();
  for (const file of files) {
    const text = readFileSync(path.join(root, file), 'utf8');
    const names = ts.preProcessFile(text, true, true).importedFiles.map((ref) => ref.fileName);
    // A package whose files are found at run time (a WebAssembly grammar) is a dependency too.
    for (const match of text.matchAll(/require\.resolve\(\s*['"]([^'"]+)['"]/g))
      names.push(match[1]!);
    for (const name of names) {
      if (name.startsWith('.') || name.startsWith('node:')) continue;
      const parts = name.split('/');
      packages.add(name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return packages;
}

/**
 * Cycles in a directed graph: each strongly connected component of more than one node (Tarjan),
 * as its sorted node names. A node's edge to itself does not count.
 */
export function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (next === node) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}
