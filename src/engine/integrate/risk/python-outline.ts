import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node, Parser } from 'web-tree-sitter';
import type { Definition, Outline, Reference } from './outline.js';

const require = createRequire(import.meta.url);
let parser: Promise<Parser> | null = null;

/**
 * One parser for the process, loaded on the first Python file: loading the WebAssembly grammar
 * is the slow part.
 */
function pythonParser(): Promise<Parser> {
  parser ??= (async () => {
    const { Language, Parser } = await import('web-tree-sitter');
    await Parser.init({
      locateFile: (name: string) =>
        wasmFile(name, () => require.resolve(`web-tree-sitter/${name}`)),
    });
    const language = await Language.load(
      wasmFile('tree-sitter-python.wasm', () =>
        require.resolve('@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm'),
      ),
    );
    const created = new Parser();
    created.setLanguage(language);
    return created;
  })();
  return parser;
}

/**
 * Where a dependency's `.wasm` file is: in node_modules, or, in the bundled Action (which runs
 * without node_modules), the copy next to the bundle that scripts/build-action.mjs puts there.
 */
function wasmFile(name: string, resolve: () => string): string {
  try {
    return resolve();
  } catch {
    return fileURLToPath(new URL(basename(name), import.meta.url));
  }
}

/** Definitions and identifiers of a Python file, with tree-sitter's Python grammar. */
export async function outlinePython(source: string): Promise<Outline> {
  const tree = (await pythonParser()).parse(source);
  if (tree === null) return { definitions: [], references: [] };
  try {
    const definitions: Definition[] = [];
    const define = (name: string, node: Node, kind: Definition['kind'] = 'code') =>
      definitions.push({
        name,
        start: node.startPosition.row + 1,
        end: node.endPosition.row + 1,
        kind,
      });
    const visitBlock = (block: Node, prefix: string) => {
      for (const statement of block.namedChildren) {
        if (statement === null) continue;
        // A decorator belongs to what it decorates.
        const inner =
          statement.type === 'decorated_definition'
            ? (statement.childForFieldName('definition') ?? statement)
            : statement;
        const name = inner.childForFieldName('name')?.text;
        if (inner.type === 'function_definition' && name !== undefined) {
          define(prefix + name, statement);
        } else if (inner.type === 'class_definition' && name !== undefined) {
          define(prefix + name, statement, 'class');
          const body = inner.childForFieldName('body');
          if (body !== null) visitBlock(body, `${prefix}${name}.`);
        } else if (inner.type === 'expression_statement') {
          for (const target of assignedNames(inner)) define(prefix + target, statement);
        }
      }
    };
    visitBlock(tree.rootNode, '');

    const references: Reference[] = [];
    const collect = (node: Node) => {
      const line = node.startPosition.row + 1;
      if (node.type === 'identifier' && !isDeclarationName(node)) {
        references.push({ name: node.text, line });
      }
      for (const name of protocolMethods(node)) references.push({ name, line });
      for (const child of node.namedChildren) if (child !== null) collect(child);
    };
    collect(tree.rootNode);
    return { definitions, references };
  } finally {
    tree.delete();
  }
}

/** What Python calls behind an operator or a builtin: `k in x` calls `x.__contains__`. */
function protocolMethods(node: Node): string[] {
  switch (node.type) {
    case 'comparison_operator':
      return node.children.some((child) => child?.type === 'in' || child?.type === 'not in')
        ? ['__contains__']
        : [];
    case 'subscript':
      return ['__getitem__'];
    case 'for_statement':
    case 'for_in_clause':
      return ['__iter__'];
    case 'call': {
      const callee = node.childForFieldName('function');
      const method = callee?.type === 'identifier' ? BUILTIN_PROTOCOL[callee.text] : undefined;
      return method === undefined ? [] : [method];
    }
    default:
      return [];
  }
}

const BUILTIN_PROTOCOL: Record<string, string> = {
  str: '__str__',
  repr: '__repr__',
  len: '__len__',
  iter: '__iter__',
  bool: '__bool__',
  hash: '__hash__',
  format: '__format__',
};

/** `X = …`, `X: int = …`, `a, b = …` at module or class level. */
function assignedNames(statement: Node): string[] {
  const assignment = statement.namedChildren[0];
  if (assignment?.type !== 'assignment') return [];
  const left = assignment.childForFieldName('left');
  if (left === null) return [];
  if (left.type === 'identifier') return [left.text];
  return left.namedChildren
    .filter((child) => child !== null && child.type === 'identifier')
    .map((child) => child!.text);
}

/**
 * The name being declared (`def f`, `class C`, a parameter, a plain `x = …` target) is not a use
 * of anything.
 */
function isDeclarationName(node: Node): boolean {
  const parent = node.parent;
  if (parent === null) return false;
  if (parent.type === 'parameters' || parent.type === 'lambda_parameters') return true;
  const field = DECLARING_FIELDS[parent.type];
  return field !== undefined && parent.childForFieldName(field)?.id === node.id;
}

const DECLARING_FIELDS: Record<string, string> = {
  function_definition: 'name',
  class_definition: 'name',
  default_parameter: 'name',
  typed_parameter: 'name',
  typed_default_parameter: 'name',
  assignment: 'left',
  for_statement: 'left',
};
