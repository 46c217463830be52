import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoGit } from '../../src/engine/integrate/repo.js';
import { detectRisks } from '../../src/engine/integrate/risk/detect.js';
import { parseDiff } from '../../src/engine/integrate/risk/diff-hunks.js';
import { createTempRepo, gitTestEnv, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
let base: string;

afterEach(() => repo.cleanup());

async function start(files: Record<string, string>): Promise<void> {
  repo = await createTempRepo({ files });
  base = await repo.git(['rev-parse', 'HEAD']);
}

/** A task branch from the base: files written (null deletes); `moved` files are deleted first. */
async function task(
  id: string,
  files: Record<string, string | null>,
  renames: [string, string][] = [],
): Promise<{ taskId: string; sha: string }> {
  await repo.git(['checkout', '-q', '-B', `task/${id}`, base]);
  // git finds the rename itself when the diff is read, as it does for an agent's commit.
  for (const [from] of renames) await repo.git(['rm', '-q', from]);
  for (const [path, content] of Object.entries(files)) {
    if (content === null) await repo.git(['rm', '-q', path]);
    else await repo.write(path, content);
  }
  return { taskId: id, sha: await repo.commit(`task ${id}`) };
}

function risks(...tips: { taskId: string; sha: string }[]) {
  return detectRisks(repoGit(repo.dir, gitTestEnv()), base, tips);
}

const PY_LIB = [
  'def parse(text):',
  '    parts = text.split(",")',
  '    cleaned = [part.strip() for part in parts]',
  '    return cleaned',
  '',
  '',
  'def render(items):',
  '    return ", ".join(items)',
  '',
  '',
  'class Store:',
  '    def __init__(self):',
  '        self.items = []',
  '',
  '    def add(self, item):',
  '        self.items.append(item)',
  '',
  '    def count(self):',
  '        return len(self.items)',
  '',
].join('\n');

const PY_APP = [
  'from lib import render',
  '',
  '',
  'def show(items):',
  '    return render(items)',
  '',
].join('\n');

describe('interaction risks in Python', () => {
  beforeEach(() => start({ 'lib.py': PY_LIB, 'app.py': PY_APP }));

  it('flags two tasks that change the same function on different lines', async () => {
    const a = await task('a', { 'lib.py': PY_LIB.replace('text.split(",")', 'text.split(";")') });
    const b = await task('b', {
      'lib.py': PY_LIB.replace('    return cleaned', '    return sorted(cleaned)'),
    });
    expect(await risks(a, b)).toEqual([
      {
        tasks: ['a', 'b'],
        files: ['lib.py'],
        symbols: ['parse'],
        reason: 'both change parse in lib.py',
      },
    ]);
  });

  it('flags a change to a function that the other task starts calling from another file', async () => {
    const a = await task('a', { 'lib.py': PY_LIB.replace('", ".join(items)', '"; ".join(items)') });
    const b = await task('b', {
      'report.py':
        'from lib import render\n\n\ndef summary(items):\n    return "items: " + render(items)\n',
    });
    const [risk] = await risks(a, b);
    expect(risk?.symbols).toEqual(['render']);
    expect(risk?.files).toEqual(['lib.py', 'report.py']);
    expect(risk?.reason).toMatch(
      /^a changes render in lib\.py; b's new code uses it \(report\.py:1, report\.py:5\)$/,
    );
  });

  it('flags a method change that the other task reaches through an attribute and a constructor', async () => {
    const a = await task('a', {
      'lib.py': PY_LIB.replace('self.items.append(item)', 'self.items.insert(0, item)'),
    });
    const b = await task('b', { 'app.py': `${PY_APP}\n\ndef fill(store):\n    store.add("x")\n` });
    expect((await risks(a, b))[0]?.symbols).toEqual(['Store.add']);
    const c = await task('c', {
      'lib.py': PY_LIB.replace('self.items = []', 'self.items = ["seed"]'),
    });
    const d = await task('d', { 'app.py': `${PY_APP}\n\ndef fresh():\n    return Store()\n` });
    expect((await risks(c, d))[0]?.symbols).toEqual(['Store.__init__']);
  });

  it('says nothing about unrelated changes', async () => {
    const a = await task('a', { 'lib.py': PY_LIB.replace('text.split(",")', 'text.split(";")') });
    const b = await task('b', {
      'app.py': PY_APP.replace('return render(items)', 'return render(list(items))'),
    });
    const c = await task('c', { 'notes.txt': 'parse render Store\n' });
    expect(await risks(a, b, c)).toEqual([]);
  });

  it('follows a renamed file, and a renamed function that the other task still calls', async () => {
    const movedLib = PY_LIB.replace('    return cleaned', '    return cleaned[:10]');
    const a = await task('a', { 'text/lib.py': movedLib }, [['lib.py', 'text/lib.py']]);
    const b = await task('b', { 'lib.py': PY_LIB.replace('text.split(",")', 'text.split(";")') });
    expect(await risks(a, b)).toEqual([
      {
        tasks: ['a', 'b'],
        files: ['lib.py'],
        symbols: ['parse'],
        reason: 'both change parse in lib.py',
      },
    ]);
    const c = await task('c', {
      'lib.py': PY_LIB.replace('def render(items):', 'def render_items(items):'),
    });
    const d = await task('d', { 'report.py': 'from lib import render\n' });
    expect((await risks(c, d))[0]?.reason).toBe(
      "c changes render in lib.py; d's new code uses it (report.py:1)",
    );
  });

  it('leaves pairs that conflict to conflict detection', async () => {
    const a = await task('a', { 'lib.py': PY_LIB.replace('text.split(",")', 'text.split(";")') });
    const b = await task('b', { 'lib.py': PY_LIB.replace('text.split(",")', 'text.split("|")') });
    expect(await risks(a, b)).toEqual([]);
  });
});

const TS_LIB = [
  'export function parse(text: string): string[] {',
  "  const parts = text.split(',');",
  '  const cleaned = parts.map((part) => part.trim());',
  '  return cleaned;',
  '}',
  '',
  'export class Store {',
  '  private items: string[] = [];',
  '',
  '  add(item: string): void {',
  '    this.items.push(item);',
  '  }',
  '',
  '  count(): number {',
  '    const all = this.items;',
  '    const n = all.length;',
  '    return n;',
  '  }',
  '}',
  '',
  'export const LIMIT = 10;',
  '',
].join('\n');

const TS_APP = [
  "import { parse } from './lib.js';",
  '',
  'export const fields = (line: string) => parse(line);',
  '',
].join('\n');

describe('interaction risks in TypeScript', () => {
  beforeEach(() => start({ 'src/lib.ts': TS_LIB, 'src/app.ts': TS_APP }));

  it('flags two tasks that change the same method', async () => {
    const a = await task('a', {
      'src/lib.ts': TS_LIB.replace(
        'const all = this.items;',
        'const all = this.items.filter(Boolean);',
      ),
    });
    const b = await task('b', {
      'src/lib.ts': TS_LIB.replace('    return n;', '    return Math.min(n, LIMIT);'),
    });
    expect(await risks(a, b)).toEqual([
      {
        tasks: ['a', 'b'],
        files: ['src/lib.ts'],
        symbols: ['Store.count'],
        reason: 'both change Store.count in src/lib.ts',
      },
    ]);
  });

  it('flags a changed constant and method that the other task uses in another file', async () => {
    const a = await task('a', {
      'src/lib.ts': TS_LIB.replace('LIMIT = 10', 'LIMIT = 5').replace(
        'this.items.push(item);',
        'this.items.unshift(item);',
      ),
    });
    const b = await task('b', {
      'src/fill.ts':
        "import { LIMIT, Store } from './lib.js';\n\nexport function fill(store: Store): void {\n  for (let i = 0; i < LIMIT; i++) store.add(String(i));\n}\n",
    });
    const [risk] = await risks(a, b);
    expect(risk?.symbols).toEqual(['LIMIT', 'Store.add']);
    expect(risk?.files).toEqual(['src/fill.ts', 'src/lib.ts']);
  });

  it('says nothing about unrelated changes, or about a task built on the other', async () => {
    const a = await task('a', { 'src/lib.ts': TS_LIB.replace('LIMIT = 10', 'LIMIT = 5') });
    const b = await task('b', {
      'src/app.ts': TS_APP.replace('parse(line)', 'parse(line.trim())'),
    });
    expect(await risks(a, b)).toEqual([]);
    // c starts from a's commit: only what c did itself is compared with a.
    await repo.git(['checkout', '-q', '-B', 'task/c', a.sha]);
    await repo.write(
      'src/lib.ts',
      TS_LIB.replace('LIMIT = 10', 'LIMIT = 5').replace(
        '  count',
        '  size(): number {\n    return 1;\n  }\n\n  count',
      ),
    );
    const c = { taskId: 'c', sha: await repo.commit('task c') };
    expect(await risks(a, c)).toEqual([]);
  });

  it('follows a renamed file and a renamed function', async () => {
    const a = await task(
      'a',
      { 'src/text/lib.ts': TS_LIB.replace('return cleaned;', 'return cleaned.slice(0, 10);') },
      [['src/lib.ts', 'src/text/lib.ts']],
    );
    const b = await task('b', {
      'src/lib.ts': TS_LIB.replace("text.split(',')", "text.split(';')"),
    });
    expect((await risks(a, b))[0]?.reason).toBe('both change parse in src/lib.ts');
    const c = await task('c', {
      'src/lib.ts': TS_LIB.replace('function parse(', 'function parseFields('),
    });
    const d = await task('d', {
      'src/other.ts': "import { parse } from './lib.js';\nexport const x = parse('a');\n",
    });
    expect((await risks(c, d))[0]?.symbols).toEqual(['parse']);
  });
});

describe('parseDiff', () => {
  it('numbers changed lines on each side, skips blank ones, and keeps both names of a rename', () => {
    const files = parseDiff(
      [
        'diff --git a/old.py b/new.py',
        'similarity index 90%',
        'rename from old.py',
        'rename to new.py',
        'index 1111111..2222222 100644',
        '--- a/old.py',
        '+++ b/new.py',
        '@@ -3,2 +3 @@ def f():',
        '-    a = 1',
        '-    -- not a header',
        '+    a = 2',
        '@@ -10,0 +11,3 @@ def g():',
        '+',
        '+    b = 3',
        '+    ++ not a header',
        'diff --git "a/caf\\303\\251.py" "b/caf\\303\\251.py"',
        'index 1111111..2222222 100644',
        '--- "a/caf\\303\\251.py"',
        '+++ "b/caf\\303\\251.py"',
        '@@ -1 +0,0 @@',
        '-x = 1',
      ].join('\n'),
    );
    expect(files).toEqual([
      { basePath: 'old.py', tipPath: 'new.py', removed: [3, 4], added: [3, 12, 13] },
      { basePath: 'café.py', tipPath: 'café.py', removed: [1], added: [] },
    ]);
  });
});
