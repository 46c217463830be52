import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { Config } from '../../src/engine/config/schema.js';

/**
 * The README's config example says every value in it is the default unless marked `example`.
 * Read it as the tool does and hold it to that, so a changed default (or a README typo, like the
 * `retries: 1` it once showed) fails here.
 */
const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

function configExample(): string {
  const section = README.slice(README.indexOf('### Configuration'));
  const match = /```yaml\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('README.md: no ```yaml block under "### Configuration"');
  return match[1]!;
}

interface Leaf {
  path: string[];
  value: unknown;
  example: boolean;
}

/** Every value in the block with its path, and whether its line says it is an example. */
function leaves(node: Node | null, path: string[] = []): Leaf[] {
  if (isMap(node)) {
    return node.items.flatMap((pair) => {
      if (!isPair(pair) || !isScalar(pair.key)) return [];
      return leaves(pair.value as Node | null, [...path, String(pair.key.value)]);
    });
  }
  if (isScalar(node) || isSeq(node)) {
    const comment = node.comment ?? '';
    return [{ path, value: node.toJSON(), example: /\bexample\b/.test(comment) }];
  }
  return [];
}

function at(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (current, key) =>
      typeof current === 'object' && current !== null
        ? (current as Record<string, unknown>)[key]
        : undefined,
    value,
  );
}

/** Paths of every default the schema fills in. */
function defaultPaths(value: unknown, path: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [path];
  return Object.entries(value).flatMap(([key, inner]) => defaultPaths(inner, [...path, key]));
}

describe("the README's config example", () => {
  const doc = parseDocument(configExample());
  const example = doc.toJS() as unknown;
  const defaults = Config.parse({}) as unknown;
  const found = leaves(doc.contents as Node | null);

  it('is a valid config', () => {
    expect(doc.errors).toEqual([]);
    expect(() => Config.parse(example)).not.toThrow();
  });

  it('shows the defaults of the code, except the values marked example', () => {
    const wrong = found
      .filter((leaf) => !leaf.example)
      .filter((leaf) => JSON.stringify(at(defaults, leaf.path)) !== JSON.stringify(leaf.value))
      .map(
        (leaf) =>
          `${leaf.path.join('.')}: README says ${JSON.stringify(leaf.value)}, the default is ${JSON.stringify(at(defaults, leaf.path))}`,
      );
    expect(wrong).toEqual([]);
    // An example of a setting that has a default must say the default is something else.
    const examples = found.filter((leaf) => leaf.example).map((leaf) => leaf.path.join('.'));
    expect(examples.length).toBeGreaterThan(0);
  });

  it('shows every default the code has', () => {
    const shown = new Set(found.map((leaf) => leaf.path.join('.')));
    const missing = defaultPaths(defaults)
      .map((path) => path.join('.'))
      .filter((path) => !shown.has(path));
    expect(missing, 'add these to the README config example, with their defaults').toEqual([]);
  });
});
