import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, task } from '../engine/helpers.js';
import type { RunDocument } from '../finish/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { escapeRegExp } from '../../src/engine/regexp.js';
import { invariantHolds as invariantOfRun, RECORD } from './helpers.js';

interface RepairDoc extends RunDocument {
  integration: RunDocument['integration'] & {
    repairs?: Array<{
      taskId: string;
      kind: string;
      attempts: number;
      outcome: string;
      branch: string;
      reason: string | null;
      keptRefs: string[];
      workspaces?: Array<{ attempt: number; branch: string }>;
    }>;
  };
}

let repo: TempRepo;
let ledger: string;
beforeEach(async () => {
  ledger = await mkdtemp(join(tmpdir(), 'pe-repair-ledger-'));
});
afterEach(async () => {
  await repo.cleanup();
  await rm(ledger, { recursive: true, force: true });
});

async function run(agent: string, extra: string[] = []) {
  const result = await cli(
    ['run', '--plan', 'plan.json', '--agent-command', agent, '--json', ...extra],
    repo.dir,
    { LEDGER: ledger },
  );
  const doc = JSON.parse(result.stdout || 'null') as RepairDoc;
  return { ...result, doc };
}

function invariantHolds(doc: RunDocument): Promise<void> {
  return invariantOfRun(repo.dir, ledger, doc);
}

/** Tasks c and d both write shared.txt: d conflicts with c. */
const CONFLICTING = `echo "$PE_TASK_ID" > shared.txt && git add -A && git commit -qm "task $PE_TASK_ID" && ${RECORD}`;

describe('repair with a command agent', () => {
  beforeEach(async () => {
    repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  });

  it('resolves a conflict: the merge left in progress is finished, and the task merges', async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const agent = `if [ "$PE_REPAIR" = conflict ]; then
      test "$PE_REPAIR_OF" = d && grep -q '^<<<<<<<' shared.txt && git rev-parse -q --verify MERGE_HEAD >/dev/null || exit 3
      grep -q 'conflicts with the integration branch' "$PE_CONTEXT_FILE" || exit 4
      printf 'c\\nd\\n' > shared.txt && git add shared.txt && git commit -qm "resolve c and d" && ${RECORD}
    else ${CONFLICTING}; fi`;
    const { code, stderr, doc } = await run(agent, ['--repair-attempts', '1']);
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect(doc.integration!.merged).toEqual(['c', 'd']);
    expect(doc.integration!.conflicts).toEqual([]);
    const repair = doc.integration!.repairs!;
    expect(repair).toMatchObject([
      { taskId: 'd', kind: 'conflict', attempts: 1, outcome: 'merged', reason: null },
    ]);
    expect(repair[0]!.branch).toMatch(/-repair/);
    expect(repair[0]!.keptRefs[0]).toMatch(
      new RegExp(`^refs/parallel-executor/${doc.executionId}/d-repair/attempt-1$`),
    );
    const branch = doc.integration!.branch;
    expect(await repo.git(['show', `${branch}:shared.txt`])).toBe('c\nd');
    // The report names the repair, and the user's checkout was not touched.
    expect(await repo.git(['show', `${branch}:${doc.reportCommit!.path}`])).toMatch(
      /Repairs[\s\S]*d[\s\S]*conflict[\s\S]*merged/,
    );
    expect(await repo.git(['status', '--porcelain'])).toBe('');
    await invariantHolds(doc);
  });

  it("counts what the repair agent spent in its task's usage and in the run's totals", async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const spent = (input: number, output: number, cost: number) =>
      `printf '{"usage":{"input_tokens":${input},"output_tokens":${output},"cost_usd":${cost}}}' > "$PE_STATUS_FILE"`;
    const agent = `if [ "$PE_REPAIR" = conflict ]; then
      printf 'c\\nd\\n' > shared.txt && git add shared.txt && git commit -qm "resolve c and d" && ${RECORD} && ${spent(5000, 300, 0.25)}
    else ${CONFLICTING} && ${spent(1000, 100, 0.01)}; fi`;
    const { code, stderr, doc } = await run(agent, ['--repair-attempts', '1']);
    expect(code, stderr).toBe(0);
    const usage = doc as unknown as {
      usage: Record<string, number | null>;
      tasks: Array<{ id: string; usage: Record<string, number | null> | null }>;
    };
    expect(doc.integration!.repairs).toMatchObject([
      { taskId: 'd', outcome: 'merged', inputTokens: 5000, outputTokens: 300, costUsd: 0.25 },
    ]);
    expect(usage.tasks.find((t) => t.id === 'd')!.usage).toEqual({
      inputTokens: 6000,
      outputTokens: 400,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
      costUsd: expect.closeTo(0.26, 9),
    });
    expect(usage.usage).toEqual({
      inputTokens: 7000,
      outputTokens: 500,
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
      costUsd: expect.closeTo(0.27, 9),
    });
    const report = await repo.git(['show', `${doc.integration!.branch}:${doc.reportCommit!.path}`]);
    expect(report).toContain('- **Tokens / Cost**: 7,000 in / 500 out tokens · $0.27');
    await invariantHolds(doc);
  });

  it('a repair that commits conflict markers fails; so does one that leaves the merge unfinished', async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const markers = `if [ -n "$PE_REPAIR" ]; then git add -A && git commit -qm "kept the markers" && ${RECORD}; else ${CONFLICTING}; fi`;
    const first = await run(markers, ['--repair-attempts', '1']);
    expect(first.code, first.stderr).toBe(1);
    expect(first.doc.integration!.merged).toEqual(['c']);
    expect(first.doc.integration!.repairs).toMatchObject([
      {
        taskId: 'd',
        kind: 'conflict',
        attempts: 1,
        outcome: 'failed',
        reason: 'conflict markers were committed in shared.txt',
      },
    ]);
    // The markers never reached the integration branch.
    expect(await repo.git(['show', `${first.doc.integration!.branch}:shared.txt`])).toBe('c');
    await invariantHolds(first.doc);

    const unfinished = `if [ -n "$PE_REPAIR" ]; then echo half > notes.txt; else ${CONFLICTING}; fi`;
    const second = await run(unfinished, ['--repair-attempts', '2']);
    expect(second.code, second.stderr).toBe(1);
    const repairs = second.doc.integration!.repairs!;
    expect(repairs).toMatchObject([{ taskId: 'd', attempts: 2, outcome: 'failed' }]);
    expect(repairs[0]!.reason).toMatch(/merge was left unfinished/);
    // Both attempts, uncommitted files and markers included, are kept under named refs.
    expect(repairs[0]!.keptRefs).toHaveLength(2);
    for (const ref of repairs[0]!.keptRefs) {
      expect(await repo.git(['show', `${ref}:notes.txt`])).toBe('half');
    }
  });

  it("the terminal summary names each repair, and a failed one's branch and kept refs", async () => {
    // The report said it; the summary under "Integration branch" did not, and the failed repair's
    // branch stayed in \`git branch\` with no word of where it came from.
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const markers = `if [ -n "$PE_REPAIR" ]; then git add -A && git commit -qm "kept the markers" && ${RECORD}; else ${CONFLICTING}; fi`;
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', markers, '--repair-attempts', '1'],
      repo.dir,
      { LEDGER: ledger },
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /\n {2}repair: d: not repaired after a merge conflict with c in shared\.txt \(1 attempt\): conflict markers were committed in shared\.txt \(/,
    );
    const branch = /\n {6}branch (agent\/\S+-repair)\n/.exec(result.stdout)?.[1];
    expect(branch).toBeDefined();
    expect(await repo.git(['log', '-1', '--format=%s', branch!])).toBe('kept the markers');
    const kept = /\n {6}kept {3}(refs\/parallel-executor\/\S+\/d-repair\/attempt-1)\n/.exec(
      result.stdout,
    )?.[1];
    expect(await repo.git(['log', '-1', '--format=%s', kept!])).toBe('kept the markers');
  });

  it("a repair that abandons the merge (the task's commits gone) fails, and nothing is called merged", async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const abandon = `if [ -n "$PE_REPAIR" ]; then git merge --abort && echo mine > shared.txt && git commit -qam "took mine" && ${RECORD}; else ${CONFLICTING}; fi`;
    const { code, doc } = await run(abandon, ['--repair-attempts', '1']);
    expect(code).toBe(1);
    expect(doc.integration!.merged).toEqual(['c']);
    expect(doc.integration!.repairs).toMatchObject([
      { taskId: 'd', outcome: 'failed', reason: "the repair dropped commits of the task's branch" },
    ]);
    await invariantHolds(doc);
  });

  it("cleans the repairs' branches as the task's own: the merged one deleted, a failed attempt's kept until --force", async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    // Attempt 1 commits the markers (it fails, its branch unmerged); attempt 2 resolves.
    const agent = `if [ -n "$PE_REPAIR" ]; then
      if grep -q '^Attempt 1 of' "$PE_CONTEXT_FILE"; then git add -A && git commit -qm "kept the markers" && ${RECORD}
      else printf 'c\\nd\\n' > shared.txt && git add shared.txt && git commit -qm "resolve c and d" && ${RECORD}; fi
    else ${CONFLICTING}; fi`;
    const { code, stderr, doc } = await run(agent, ['--repair-attempts', '2']);
    expect(code, stderr).toBe(0);
    const repair = doc.integration!.repairs![0]!;
    expect(repair).toMatchObject({ taskId: 'd', attempts: 2, outcome: 'merged' });
    const [failed, merged] = repair.workspaces!.map((w) => w.branch) as [string, string];
    // The clean-up after the run deleted the merged attempt's branch and kept the other.
    const heads = async () =>
      (await repo.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'])).split('\n');
    expect(await heads()).toContain(failed);
    expect(await heads()).not.toContain(merged);

    const listed = await cli(['clean', '--json'], repo.dir);
    expect(listed.code, listed.stderr).toBe(0);
    const items = (
      JSON.parse(listed.stdout) as {
        executions: {
          items: {
            taskId: string;
            repair?: { attempt: number | null };
            kind: string;
            target: string;
            action: string;
            reason: string;
          }[];
        }[];
      }
    ).executions[0]!.items.filter((item) => item.repair !== undefined && item.kind === 'branch');
    expect(items).toEqual([
      {
        taskId: 'd',
        repair: { attempt: 1 },
        kind: 'branch',
        target: failed,
        action: 'kept',
        reason: `not merged into ${doc.integration!.branch} or main; kept so its commits are not lost (--force deletes it)`,
      },
      {
        taskId: 'd',
        repair: { attempt: 2 },
        kind: 'branch',
        target: merged,
        action: 'absent',
        reason: 'no such branch',
      },
    ]);

    const forced = await cli(['clean', '--force'], repo.dir);
    expect(forced.code, forced.stderr).toBe(0);
    const attempt1 = `refs/parallel-executor/${doc.executionId}/d-repair/attempt-1`;
    expect(forced.stdout).toMatch(
      new RegExp(
        `removed branch +${escapeRegExp(failed)} \\(d repair attempt 1: not merged; deleted because of --force; its work is kept as ${escapeRegExp(attempt1)} \\(was [0-9a-f]{7}\\)\\)`,
      ),
    );
    expect(await heads()).not.toContain(failed);
    expect(await repo.git(['log', '-1', '--format=%s', attempt1])).toBe('kept the markers');
    await invariantHolds(doc);
  });

  it('is off for a command agent unless asked for', async () => {
    await writePlanJson(repo.dir, plan([task('c'), task('d')]));
    const { code, doc } = await run(`if [ -n "$PE_REPAIR" ]; then exit 9; fi; ${CONFLICTING}`);
    expect(code).toBe(1);
    expect(doc.integration!.repairs ?? []).toEqual([]);
    // A count that is not one is refused before anything runs.
    const bad = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', 'true', '--repair-attempts', 'two'],
      repo.dir,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--repair-attempts: "two" is not a whole number');
  });
});

describe('repair of a bisect culprit and of a failed validation', () => {
  beforeEach(async () => {
    repo = await createTempRepo({
      files: {
        '.gitignore': 'plan.json\n',
        'package.json': JSON.stringify({
          name: 'x',
          private: true,
          scripts: { test: 'sh check.sh' },
        }),
        // Every expect-*.txt must hold the value: two tasks can each pass and fail together.
        'check.sh': `for f in expect-*.txt; do
  [ -f "$f" ] || continue
  [ "$(cat "$f")" = "$(cat value.txt)" ] || { echo "$f wants $(cat "$f"), value is $(cat value.txt)"; exit 1; }
done
echo ok
`,
        'value.txt': '1\n',
        '.github/parallel-executor.yml':
          'integration:\n  repair:\n    attempts: 1\n    on: [tests, validation]\n',
      },
    });
  });

  it('fixes the branch batch-and-bisect blamed, given the failing output, and integrates it', async () => {
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const agent = `case "$PE_TASK_ID:$PE_REPAIR" in
      a:) echo 2 > value.txt; echo 2 > expect-a.txt ;;
      b:) echo 1 > expect-b.txt ;;
      b:tests) grep -q 'expect-b.txt wants 1, value is 2' "$PE_CONTEXT_FILE" || exit 5
               cat value.txt > expect-b.txt ;;
      *) exit 6 ;;
    esac
    git add -A && git commit -qm "$PE_TASK_ID work" && ${RECORD}`;
    const { code, stderr, doc } = await run(agent);
    expect(code, stderr).toBe(0);
    expect(doc.integration).toMatchObject({ merged: ['a', 'b'], dropped: [], testsPassed: true });
    expect(doc.integration!.repairs).toMatchObject([
      { taskId: 'b', kind: 'tests', attempts: 1, outcome: 'merged' },
    ]);
    // 1 (a+b fail) + 1 (a passes: b blamed) + the repair: 1 (a + repaired b pass).
    expect(doc.integration!.testRuns).toBe(3);
    expect(await repo.git(['show', `${doc.integration!.branch}:expect-b.txt`])).toBe('2');
    await invariantHolds(doc);
  });

  it('repairs a task whose own validation failed; the plan then counts it completed', async () => {
    await writePlanJson(repo.dir, plan([task('v')]));
    const agent = `if [ "$PE_REPAIR" = validation ]; then
      grep -q 'expect-v.txt wants 3' "$PE_CONTEXT_FILE" || exit 7
      echo 1 > expect-v.txt
    else echo 3 > expect-v.txt; fi
    git add -A && git commit -qm "v work" && ${RECORD}`;
    const { code, stderr, doc } = await run(agent);
    expect(code, stderr).toBe(0);
    expect(doc.integration!.repairs).toMatchObject([
      { taskId: 'v', kind: 'validation', outcome: 'merged' },
    ]);
    expect(doc.tasks.find((t) => t.id === 'v')).toMatchObject({
      status: 'completed',
      validation: { status: 'COMPLETE_VALIDATED' },
    });
    await invariantHolds(doc);
  });

  it('keeps a commit the repair agent made and then reset away, beside the attempt', async () => {
    await writePlanJson(repo.dir, plan([task('v')]));
    const agent = `if [ "$PE_REPAIR" = validation ]; then
      echo 1 > expect-v.txt && git commit -qam "fix, then thrown away" && ${RECORD}
      git reset -q --hard HEAD~1
    else echo 3 > expect-v.txt && git add -A && git commit -qm "v work" && ${RECORD}; fi`;
    const { code, doc } = await run(agent);
    expect(code).toBe(1);
    const repair = doc.integration!.repairs![0]!;
    expect(repair).toMatchObject({ taskId: 'v', outcome: 'failed' });
    expect(repair.keptRefs).toEqual([
      expect.stringMatching(/\/v-repair\/attempt-1$/),
      expect.stringMatching(/\/v-repair\/attempt-1-dropped-1$/),
    ]);
    expect(await repo.git(['log', '-1', '--format=%s', repair.keptRefs[1]!])).toBe(
      'fix, then thrown away',
    );
    await invariantHolds(doc);
  });
});
