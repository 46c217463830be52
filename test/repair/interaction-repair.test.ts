import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, task } from '../engine/helpers.js';
import type { RunDocument } from '../finish/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { invariantHolds as invariantOfRun, RECORD } from './helpers.js';

interface Doc extends RunDocument {
  integration: RunDocument['integration'] & {
    risks?: Array<{ tasks: string[]; symbols: string[]; note?: string }>;
    repairs?: Array<{
      taskId: string;
      kind: string;
      outcome: string;
      with: string[];
      branch: string;
      reason: string | null;
    }>;
  };
}

let repo: TempRepo;
let ledger: string;
beforeEach(async () => {
  ledger = await mkdtemp(join(tmpdir(), 'pe-interaction-ledger-'));
  // `a` pads fmt's output; `b` builds a report line on fmt, wanting "n=5". They merge cleanly and
  // every test passes (b's own test is loose), yet together line(5) is "n=  5".
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'package.json': JSON.stringify({ name: 'x', private: true, scripts: { test: 'sh test.sh' } }),
      'test.sh': 'for f in test/*.test.mjs; do node "$f" || exit 1; done\n',
      'lib.mjs': 'export function fmt(x) {\n  return String(x);\n}\n',
      'test/base.test.mjs':
        'import assert from "node:assert";\nimport { fmt } from "../lib.mjs";\nassert.ok(fmt(1).includes("1"));\n',
      '.github/parallel-executor.yml': 'integration:\n  onRisk: repair\n',
    },
  });
});
afterEach(async () => {
  await repo.cleanup();
  await rm(ledger, { recursive: true, force: true });
});

/** The two tasks' own work; `$1` is what the interaction repair does. */
function agent(repair: string): string {
  return `case "$PE_TASK_ID:$PE_REPAIR" in
  a:) printf '%s\\n' 'export function fmt(x) {' '  return String(x).padStart(3);' '}' > lib.mjs
      printf '%s\\n' 'import assert from "node:assert";' 'import { fmt } from "../lib.mjs";' 'assert.strictEqual(fmt(5), "  5");' > test/a.test.mjs ;;
  b:) printf '%s\\n' 'import { fmt } from "./lib.mjs";' '' 'export function line(x) {' '  return "n=" + fmt(x);' '}' > report.mjs
      printf '%s\\n' 'import assert from "node:assert";' 'import { line } from "../report.mjs";' 'assert.ok(line(5).startsWith("n="));' > test/b.test.mjs ;;
  b:interaction) test "$PE_REPAIR_OF" = b || exit 3
      grep -q 'merged cleanly and are both on the integration branch' "$PE_CONTEXT_FILE" || exit 4
      grep -q 'Definitions: .*fmt' "$PE_CONTEXT_FILE" && grep -q 'Write a test of the combination' "$PE_CONTEXT_FILE" || exit 5
      grep -q 'Task a:' "$PE_CONTEXT_FILE" && grep -q 'padStart' "$PE_CONTEXT_FILE" || exit 6
      printf '%s\\n' 'import assert from "node:assert";' 'import { line } from "../report.mjs";' 'assert.strictEqual(line(5), "n=5");' > test/combination.test.mjs
      ${repair} ;;
  *) exit 9 ;;
esac
git add -A && git commit -qm "$PE_TASK_ID\${PE_REPAIR:+ repair}" && ${RECORD}`;
}

const FIX = `printf '%s\\n' 'import { fmt } from "./lib.mjs";' '' 'export function line(x) {' '  return "n=" + fmt(x).trim();' '}' > report.mjs`;

async function run(agentCommand: string, extra: string[] = []) {
  const result = await cli(
    ['run', '--plan', 'plan.json', '--agent-command', agentCommand, '--json', ...extra],
    repo.dir,
    { LEDGER: ledger },
  );
  return { ...result, doc: JSON.parse(result.stdout || 'null') as Doc };
}

function invariantHolds(doc: RunDocument): Promise<void> {
  return invariantOfRun(repo.dir, ledger, doc);
}

describe('integration.onRisk: repair', () => {
  it('hands the later task of the pair to an agent that adds a test of the combination and fixes it', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const { code, stderr, doc } = await run(agent(FIX), ['--repair-attempts', '1']);
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    const integration = doc.integration!;
    expect(integration.merged).toEqual(['a', 'b']);
    expect(integration.testsPassed).toBe(true);
    expect(integration.repairs).toMatchObject([
      { taskId: 'b', kind: 'interaction', outcome: 'merged', with: ['a'], reason: null },
    ]);
    const [risk] = integration.risks!;
    expect(risk).toMatchObject({ tasks: ['a', 'b'] });
    expect(risk!.symbols).toContain('fmt');
    expect(risk!.note).toMatch(/^repaired: a test of the combination .* merged from .*-repair/);
    // The test and the fix are on the integration branch.
    const branch = integration.branch;
    expect(await repo.git(['show', `${branch}:test/combination.test.mjs`])).toContain('"n=5"');
    expect(await repo.git(['show', `${branch}:report.mjs`])).toContain('fmt(x).trim()');
    const report = await repo.git(['show', `${branch}:${doc.reportCommit!.path}`]);
    expect(report).toMatch(/b: merged, repaired after an interaction risk with a/);
    expect(report).toMatch(/a ↔ b: .*repaired: a test of the combination/);
    await invariantHolds(doc);
  });

  it('a failing repair leaves the integration as it was, the risk reported; each attempt counts', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    // Attempt 1 fixes the code but writes no test; attempt 2 writes the test and no fix, so the
    // repaired branch fails its own tests.
    const repair = `if grep -q 'Attempt 1 of 2' "$PE_CONTEXT_FILE"; then rm test/combination.test.mjs; ${FIX}; fi`;
    const { stderr, doc } = await run(agent(repair), ['--repair-attempts', '2']);
    const integration = doc.integration!;
    expect(integration.merged, stderr).toEqual(['a', 'b']);
    expect(integration.repairs).toMatchObject([
      { taskId: 'b', kind: 'interaction', attempts: 2, outcome: 'failed' },
    ]);
    expect(integration.repairs![0]!.reason).toBe('the repaired branch fails its validation: tests');
    expect(integration.risks![0]!.note).toBe(
      'repair failed (2 attempts): the repaired branch fails its validation: tests; the risk stands',
    );
    expect(stderr).toContain(
      'repair attempt 1 failed: the interaction repair added no test of the combination (it changed report.mjs)',
    );
    const branch = integration.branch;
    await expect(repo.git(['show', `${branch}:test/combination.test.mjs`])).rejects.toThrow();
    expect(await repo.git(['show', `${branch}:report.mjs`])).toContain('"n=" + fmt(x);');
    await invariantHolds(doc);
  });

  it('with repairs off (--repair-attempts 0) the risk is reported only, and says why', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const { code, stderr, doc } = await run(agent('exit 8'), ['--repair-attempts', '0']);
    expect(code, stderr).toBe(0);
    expect(doc.integration!.repairs ?? []).toEqual([]);
    expect(doc.integration!.risks![0]!.note).toBe(
      'not repaired: repairs are off (integration.repair.attempts or --repair-attempts is 0); reported only',
    );
  });
});
