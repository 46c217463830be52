import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config/load.js';
import { integrate } from '../../src/engine/integrate/integrate.js';
import type { OnRisk } from '../../src/engine/integrate/risks.js';
import { IntegrationResult } from '../../src/engine/integrate/schema.js';
import { createTempRepo, gitTestEnv, tempDir, type TempRepo } from '../support/git-repo.js';

/**
 * Two tasks that merge cleanly and each pass their own new test, but not together: `a` pads
 * `fmt`'s output, `b` adds a report line built on `fmt` and a test that expects no padding. The
 * project's test script runs the files it is given, and its own base test when given none (as a
 * suite with a fixed list would), so the integration tests alone pass.
 */
const FILES = {
  'lib.mjs': 'export function fmt(x) {\n  return String(x);\n}\n\nexport const UNIT = "kg";\n',
  'test/base.test.mjs':
    'import assert from "node:assert";\nimport { fmt } from "../lib.mjs";\nassert.ok(fmt(1).includes("1"));\n',
  'test.sh':
    'if [ "$#" -eq 0 ]; then set -- test/base.test.mjs; fi\nfor f in "$@"; do node "$f" || exit 1; done\n',
};
const A_LIB =
  'export function fmt(x) {\n  return String(x).padStart(3);\n}\n\nexport const UNIT = "kg";\n';
const A_TEST =
  'import assert from "node:assert";\nimport { fmt } from "../lib.mjs";\nassert.strictEqual(fmt(5), "  5");\n';
const B_REPORT =
  'import { fmt } from "./lib.mjs";\n\nexport function line(x) {\n  return "n=" + fmt(x);\n}\n';
const B_TEST =
  'import assert from "node:assert";\nimport { line } from "../report.mjs";\nassert.strictEqual(line(5), "n=5");\n';

let repo: TempRepo;
let work: { path: string; remove: () => Promise<void> };
let base: string;
let runs = 0;

beforeEach(async () => {
  repo = await createTempRepo({ files: FILES });
  work = await tempDir('on-risk');
  base = await repo.git(['rev-parse', 'HEAD']);
  await branch('task/a', { 'lib.mjs': A_LIB, 'test/a.test.mjs': A_TEST });
  await branch('task/b', { 'report.mjs': B_REPORT, 'test/b.test.mjs': B_TEST });
  await branch('task/c', { 'NOTES.md': 'unrelated\n' });
  await repo.git(['checkout', '-q', 'main']);
});
afterEach(async () => {
  await repo.cleanup();
  await work.remove();
});

async function branch(name: string, files: Record<string, string>): Promise<void> {
  await repo.git(['checkout', '-q', '-B', name, base]);
  for (const [path, content] of Object.entries(files)) await repo.write(path, content);
  await repo.commit(name);
}

function run(onRisk: OnRisk | undefined, testCommand: string | null = 'sh test.sh') {
  const id = `run-${++runs}`;
  return integrate({
    repoRoot: repo.dir,
    baseSha: base,
    branchName: `integration/${id}`,
    workdir: join(work.path, 'work'),
    candidates: ['a', 'b', 'c'].map((taskId) => ({
      taskId,
      agent: 'command',
      branch: `task/${taskId}`,
      dependsOn: [],
    })),
    testCommand,
    strategy: 'batch-bisect',
    detectConflicts: true,
    onRisk,
    env: gitTestEnv(),
    logDir: join(work.path, 'logs', id),
  });
}

describe('integration.onRisk', () => {
  it('report (the default): the risky pair is in the result, nothing more is run', async () => {
    const result = await run(undefined);
    expect(IntegrationResult.parse(result)).toEqual(result);
    expect(result.merged).toEqual(['a', 'b', 'c']);
    expect(result.testsPassed).toBe(true);
    expect(result.testRuns).toBe(1);
    expect(result.risks).toEqual([
      {
        tasks: ['a', 'b'],
        files: ['lib.mjs', 'report.mjs'],
        symbols: ['fmt'],
        reason: "a changes fmt in lib.mjs; b's new code uses it (report.mjs:1, report.mjs:4)",
      },
    ]);
  });

  it("test-both: both tasks' own new tests fail together, and the pair is confirmed", async () => {
    const result = await run('test-both');
    const [risk] = result.risks ?? [];
    expect(risk?.test).toMatchObject({
      files: ['test/a.test.mjs', 'test/b.test.mjs'],
      outcome: 'failed',
    });
    const output = await readFile(risk!.test!.outputFile!, 'utf8');
    expect(output).toContain("'n=  5'");
    // Nothing is dropped for a risk: the verdict is reported.
    expect(result.merged).toEqual(['a', 'b', 'c']);
  });

  it('test-both: passes when the combination is fine', async () => {
    await repo.git(['checkout', '-q', 'task/b']);
    await repo.write('test/b.test.mjs', B_TEST.replace('"n=5"', '"n=  5"'));
    await repo.commit('b expects the padding');
    await repo.git(['checkout', '-q', 'main']);
    const [risk] = (await run('test-both')).risks ?? [];
    expect(risk?.test?.outcome).toBe('passed');
  });

  it('test-both without a test command, and repair (left to the repair step), say so', async () => {
    const [untested] = (await run('test-both', null)).risks ?? [];
    expect(untested?.note).toBe('not tested together: no test command');
    expect(untested?.test).toBeUndefined();
    const [unrepaired] = (await run('repair')).risks ?? [];
    expect(unrepaired?.note).toMatch(/^to repair after the integration/);
  });
});

describe('integration.onRisk in the config', () => {
  it('defaults to report, takes the three values, and names the line of a wrong one', () => {
    expect(parseConfig('retries: 0\n', 'c.yml').integration.onRisk).toBe('report');
    for (const value of ['report', 'test-both', 'repair'] as const) {
      expect(parseConfig(`integration:\n  onRisk: ${value}\n`, 'c.yml').integration.onRisk).toBe(
        value,
      );
    }
    expect(() => parseConfig('integration:\n  onRisk: fix-it\n', 'c.yml')).toThrow(
      /c\.yml:2.*(report|test-both|repair)/s,
    );
  });
});
