import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cycles,
  importedPackages,
  relativeImports,
  sourceFiles,
  type ImportEdge,
} from './import-graph.js';

const root = process.cwd();

/**
 * The engine's step folder a file belongs to (`src/engine/plan/dialects/seed.ts` → `plan`); a
 * file at the engine's top level is its own node. Null outside the engine.
 */
function engineFolder(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] !== 'src' || parts[1] !== 'engine') return null;
  return parts[2]!;
}

const SHELLS = ['src/cli', 'src/action', 'src/app'];

function shellOf(file: string): string | null {
  return SHELLS.find((shell) => file.startsWith(`${shell}/`)) ?? null;
}

describe('engine folders', () => {
  // The folders are the steps of the flow (plan → schedule → … → report); a step that imports a
  // later one which imports it back is one step in two folders, and neither can be read alone.
  it('import one another without cycles', () => {
    const edges = relativeImports(root, sourceFiles(root, 'src/engine'));
    const graph = new Map<string, Set<string>>();
    const why = new Map<string, ImportEdge[]>();
    for (const edge of edges) {
      const from = engineFolder(edge.from)!;
      const to = engineFolder(edge.to);
      if (to === null || to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
      why.set(`${from}>${to}`, [...(why.get(`${from}>${to}`) ?? []), edge]);
    }
    const found = cycles(graph).map((members) => ({
      folders: members,
      imports: [...why.entries()]
        .filter(([key]) => members.includes(key.split('>')[0]!))
        .filter(([key]) => members.includes(key.split('>')[1]!))
        .flatMap(([, list]) => list.map((e) => `${e.from}:${e.line} imports ${e.to}`)),
    }));
    expect(found, 'move what both folders need into a leaf module').toEqual([]);
  });
});

describe('shells', () => {
  // The CLI, the Action and the App each stand on the engine and the forge; what two of them
  // share belongs below them, or a change for one breaks the other unseen.
  it('never import one another', () => {
    const files = SHELLS.flatMap((shell) => sourceFiles(root, shell));
    const crossing = relativeImports(root, files)
      .filter((edge) => shellOf(edge.to) !== null && shellOf(edge.to) !== shellOf(edge.from))
      .map((edge) => `${edge.from}:${edge.line} imports ${edge.to}`);
    expect(crossing, 'move the shared code into src/engine or src/forge').toEqual([]);
  });
});

describe('source files', () => {
  // Code that nothing runs still has to be read, kept compiling and kept in step; a port with no
  // caller or an implementation used only by its own test says the code works when nothing does.
  const ENTRIES = [
    'src/cli/bin.ts',
    'src/action/index.ts',
    'src/app/main.ts',
    'src/app/serverless.ts',
    'src/demo/agent.ts', // run as a process by the demo (src/demo/agent-command.ts)
  ];

  it('are all reachable from an entry point or a bench script', () => {
    const files = [...sourceFiles(root, 'src'), ...sourceFiles(root, 'bench')];
    const imports = new Map<string, string[]>();
    for (const edge of relativeImports(root, files)) {
      imports.set(edge.from, [...(imports.get(edge.from) ?? []), edge.to]);
    }
    const reached = new Set([...ENTRIES, ...files.filter((file) => file.startsWith('bench/'))]);
    const todo = [...reached];
    for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
      for (const next of imports.get(file) ?? []) {
        if (reached.has(next)) continue;
        reached.add(next);
        todo.push(next);
      }
    }
    expect(
      files.filter((file) => !reached.has(file)),
      'delete the dead files, or list a new entry point here',
    ).toEqual([]);
  });
});

describe('dependencies', () => {
  // A dependency nothing imports is installed, audited and bundled for nothing; an import of a
  // package that is not a dependency works here only by the luck of hoisting.
  it('are exactly the packages the shipped code imports', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const files = [...sourceFiles(root, 'src'), ...sourceFiles(root, 'bin', '.js')];
    const imported = [...importedPackages(root, files)]
      // Type-only packages (`mdast`) come with their @types dev dependency.
      .filter((name) => pkg.devDependencies[`@types/${name}`] === undefined)
      .sort();
    expect(Object.keys(pkg.dependencies).sort()).toEqual(imported);
  });
});

describe('the cycle finder', () => {
  // The tests above pass on an empty answer; prove the finder does find cycles.
  it('finds a cycle through three folders and ignores a self-import', () => {
    const graph = new Map([
      ['a', new Set(['b', 'a'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', new Set(['a', 'b'])]]))).toEqual([]);
  });
});
