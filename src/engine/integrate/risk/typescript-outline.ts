import type TypeScript from 'typescript';
import type { Definition, Outline, Reference } from './outline.js';

type Ts = typeof TypeScript;

/**
 * Definitions and identifiers of a JS/TS file, with the TypeScript compiler's parser. The compiler
 * is loaded on the first JS/TS file a task changed, not when the engine starts: it is large.
 */
export async function outlineTypeScript(source: string, path: string): Promise<Outline> {
  const ts = (await import('typescript')).default;
  const file = ts.createSourceFile(
    path,
    source,
    ts.ScriptTarget.Latest,
    true,
    scriptKind(ts, path),
  );
  const line = (position: number) => file.getLineAndCharacterOfPosition(position).line + 1;
  const definitions: Definition[] = [];
  const define = (name: string, node: TypeScript.Node, kind: Definition['kind'] = 'code') =>
    definitions.push({ name, start: line(node.getStart(file)), end: line(node.getEnd()), kind });

  const visitStatements = (statements: readonly TypeScript.Statement[], prefix: string) => {
    for (const statement of statements) {
      if (ts.isFunctionDeclaration(statement) && statement.name !== undefined) {
        define(prefix + statement.name.text, statement);
      } else if (
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)
      ) {
        define(prefix + statement.name.text, statement, 'type');
      } else if (ts.isClassDeclaration(statement)) {
        visitClass(statement, prefix + (statement.name?.text ?? 'default'));
      } else if (ts.isVariableStatement(statement)) {
        for (const declaration of statement.declarationList.declarations) {
          if (!ts.isIdentifier(declaration.name)) continue;
          const name = prefix + declaration.name.text;
          // A lone declarator owns its whole statement (`export const`, modifiers, semicolon).
          define(
            name,
            statement.declarationList.declarations.length === 1 ? statement : declaration,
          );
          const value = declaration.initializer;
          if (value !== undefined && ts.isObjectLiteralExpression(value)) visitObject(value, name);
          if (value !== undefined && ts.isClassExpression(value)) visitClass(value, name);
        }
      } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name)) {
        const body = statement.body;
        if (body !== undefined && ts.isModuleBlock(body)) {
          visitStatements(body.statements, `${prefix}${statement.name.text}.`);
        }
      } else if (ts.isExportAssignment(statement)) {
        define(prefix + 'default', statement);
      }
    }
  };
  const visitClass = (node: TypeScript.ClassLikeDeclaration, name: string) => {
    define(name, node, 'class');
    for (const member of node.members) {
      const memberName = ts.isConstructorDeclaration(member)
        ? 'constructor'
        : nameOf(ts, member.name);
      if (memberName !== null) define(`${name}.${memberName}`, member);
    }
  };
  const visitObject = (node: TypeScript.ObjectLiteralExpression, name: string) => {
    for (const property of node.properties) {
      const propertyName = nameOf(ts, property.name);
      if (propertyName !== null) define(`${name}.${propertyName}`, property);
    }
  };
  visitStatements(file.statements, '');

  const references: Reference[] = [];
  const collect = (node: TypeScript.Node) => {
    if ((ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) && !isDeclarationName(ts, node)) {
      references.push({ name: node.text, line: line(node.getStart(file)) });
    }
    node.forEachChild(collect);
  };
  collect(file);
  return { definitions, references };
}

function nameOf(ts: Ts, name: TypeScript.PropertyName | undefined): string | null {
  if (name === undefined) return null;
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) {
    return name.text;
  }
  return null;
}

/**
 * The name being declared (`function f`, `class C`, `m() {}`, a parameter, a local variable) is
 * not a use of anything.
 */
function isDeclarationName(
  ts: Ts,
  node: TypeScript.Identifier | TypeScript.PrivateIdentifier,
): boolean {
  const parent = node.parent;
  return (
    (ts.isFunctionDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isVariableDeclaration(parent) ||
      ts.isBindingElement(parent) ||
      ts.isClassLike(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isGetAccessor(parent) ||
      ts.isSetAccessor(parent) ||
      ts.isInterfaceDeclaration(parent) ||
      ts.isTypeAliasDeclaration(parent) ||
      ts.isEnumDeclaration(parent)) &&
    parent.name === node
  );
}

function scriptKind(ts: Ts, path: string): TypeScript.ScriptKind {
  if (/\.[mc]?jsx?$/i.test(path)) return path.endsWith('x') ? ts.ScriptKind.JSX : ts.ScriptKind.JS;
  return path.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
}
