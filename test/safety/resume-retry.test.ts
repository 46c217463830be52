import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
  type CheckoutSnapshot,
} from '../support/invariant.js';
import { lines, readStateFile } from './resume-support.js';
import { executionPaths } from '../../src/engine/run/paths.js';

/**
 * Retries never throw work away: a failed attempt is kept under `attempt-<n>` (in-run retries and
 * `resume --retry-failed` alike), and a fix a person committed in the kept worktree after the
 * failure is what the retry builds on.
 */

let repo: TempRepo;
let box: Scratch;
let env: Record<string, string | undefined>;
let before: CheckoutSnapshot;

const LEDGER_LINE =
  'printf \'{"commit":"%s","task":"%s"}\\n\' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"';

/**
 * Counts its runs. Fails (after committing broken work and leaving a file uncommitted) unless the
 * worktree has `fixed.txt` or this is run number `$SUCCEED_FROM` or later.
 */
const FLAKY_AGENT = [
  'echo "$PE_TASK_ID" >> "$RUNS"',
  'n=$(wc -l < "$RUNS")',
  'if [ ! -e fixed.txt ] && [ "$n" -lt "${SUCCEED_FROM:-99}" ]; then ' +
    [
      'printf "broken %s\\n" "$n" > "broken-$n.txt"',
      'git add "broken-$n.txt"',
      'git commit -q -m "broken attempt $n"',
      LEDGER_LINE,
      'printf "half done %s" "$n" > "half-$n.txt"',
      'printf \'{"uncommitted":"half-%s.txt","content":"half done %s","task":"%s"}\\n\' "$n" "$n" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"',
      'exit 1',
    ].join('; ') +
    '; fi',
  'printf "done\\n" > done.txt',
  'git add done.txt',
  'git commit -q -m "done"',
  LEDGER_LINE,
].join('; ');

beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'README.md': 'x\n',
      '.github/parallel-executor.yml': 'integration:\n  testCommand: false\n',
    },
  });
  box = await scratch();
  await mkdir(box.file('ledger'));
  env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    RUNS: box.file('runs'),
    LEDGER: box.file('ledger'),
  };
  await writePlanJson(repo.dir, plan([task('a')]));
  before = await snapshotCheckout(repo.dir);
});

afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

async function expectInvariant(): Promise<void> {
  const state = (await readStateFile(repo.dir))!;
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state,
    ledger: await readLedger(box.file('ledger')),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

function run(extra: string[] = []) {
  return cli(
    ['run', '--plan', 'plan.json', '--agent-command', FLAKY_AGENT, ...extra],
    repo.dir,
    env,
  );
}

describe('resume --retry-failed', () => {
  it('builds on a fix committed by hand in the kept worktree after the failure, and says so', async () => {
    const first = await run();
    expect(first.code).toBe(1);
    const failed = (await readStateFile(repo.dir))!;
    const worktree = failed.tasks['a']!.worktree;
    expect(failed.tasks['a']!.status).toBe('failed');
    // What the demo's next steps suggest: fix it by hand in the kept worktree, commit, retry.
    await writeFile(join(worktree, 'fixed.txt'), 'fixed by hand\n');
    await repo.git(['add', 'fixed.txt'], worktree);
    await repo.git(['commit', '-q', '-m', 'fix by hand'], worktree);
    const fix = await repo.git(['rev-parse', 'HEAD'], worktree);

    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const out = retried.stdout + retried.stderr;
    expect(out).toContain('building on 1 commit(s) made after the failure');
    const state = (await readStateFile(repo.dir))!;
    const branch = state.integration!.branch;
    expect(state.integration!.merged).toEqual(['a']);
    // The hand fix is in what was integrated, and the agent ran on top of it (twice in all).
    await repo.git(['merge-base', '--is-ancestor', fix, branch]);
    expect(await repo.git(['show', `${branch}:fixed.txt`])).toBe('fixed by hand');
    expect(await repo.git(['show', `${branch}:done.txt`])).toBe('done');
    expect(await lines(box.file('runs'))).toHaveLength(2);
    const kept = `refs/parallel-executor/${state.execution_id}/a/attempt-1`;
    expect(state.tasks['a']!.kept_refs?.map((k) => k.ref)).toContain(kept);
    expect(out).toContain(kept);
    await expectInvariant();
  });

  it('without a fix, starts again from the start commit and keeps the failed attempt', async () => {
    env['SUCCEED_FROM'] = '2';
    const first = await run();
    expect(first.code).toBe(1);
    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    const branch = state.integration!.branch;
    // The broken attempt is not built on…
    const tree = await repo.git(['ls-tree', '--name-only', branch]);
    expect(tree).not.toContain('broken-1.txt');
    // …but kept, with what it left uncommitted, under the ref the output names.
    const kept = `refs/parallel-executor/${state.execution_id}/a/attempt-1`;
    expect(await repo.git(['show', `${kept}:broken-1.txt`])).toBe('broken 1');
    expect(await repo.git(['show', `${kept}:half-1.txt`])).toBe('half done 1');
    expect(retried.stdout + retried.stderr).toContain(kept);
    await expectInvariant();
  });
});

/** FLAKY_AGENT that first copies its AGENT_CONTEXT.md to `$CONTEXTS/<run number>.md`. */
const CONTEXT_AGENT = `n0=$(($(cat "$RUNS" 2>/dev/null | wc -l) + 1)); cp "$PE_CONTEXT_FILE" "$CONTEXTS/$n0.md"; ${FLAKY_AGENT}`;

describe("a retry's agent is told about the attempt before it", () => {
  it('resume --retry-failed: the failure and the commits it builds on, a fix by hand among them', async () => {
    await mkdir(box.file('contexts'));
    env['CONTEXTS'] = box.file('contexts');
    const agent = ['--agent-command', CONTEXT_AGENT];
    const first = await cli(['run', '--plan', 'plan.json', ...agent], repo.dir, env);
    expect(first.code).toBe(1);
    const failed = (await readStateFile(repo.dir))!.tasks['a']!;
    expect(failed.reason).toMatch(/exit/);
    expect(await readFile(box.file('contexts/1.md'), 'utf8')).not.toContain('Earlier Attempts');
    await writeFile(join(failed.worktree, 'fixed.txt'), 'fixed by hand\n');
    await repo.git(['add', 'fixed.txt'], failed.worktree);
    await repo.git(['commit', '-q', '-m', 'fix by hand'], failed.worktree);

    const retried = await cli(['resume', '--retry-failed', ...agent], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const context = await readFile(box.file('contexts/2.md'), 'utf8');
    // The first attempt's "broken attempt 1" commit and the fix by hand: the agent must not start
    // over on them, as a brief that says only "starts from the base commit" would have it do.
    expect(context).toContain('## Earlier Attempts\nThis is attempt 2 of this task.');
    expect(context).toContain(`> ${failed.reason!.split('\n')[0]}`);
    expect(context).toContain(
      `This branch already holds 2 commit(s) made since the task started (\`git log --stat ${failed.start_sha!.slice(0, 12)}..HEAD\`)`,
    );
    await expectInvariant();
  });

  it('--retries: the failure, and that the worktree starts again from the start commit', async () => {
    await mkdir(box.file('contexts'));
    env['CONTEXTS'] = box.file('contexts');
    env['SUCCEED_FROM'] = '2';
    const result = await cli(
      ['run', '--plan', 'plan.json', '--retries', '1', '--agent-command', CONTEXT_AGENT],
      repo.dir,
      env,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const context = await readFile(box.file('contexts/2.md'), 'utf8');
    expect(context).toContain('## Earlier Attempts\nThis is attempt 2 of this task.');
    expect(context).toMatch(/The attempt before this one ended so:\n> .*exit/);
    expect(context).toContain("This worktree starts again from the task's start commit");
    await expectInvariant();
  });
});

describe('resume --retry-failed after a fix left uncommitted', () => {
  it('names the files edited after the failure, where they are kept, and how to build on them', async () => {
    env['SUCCEED_FROM'] = '2';
    const first = await run();
    expect(first.code).toBe(1);
    const failed = (await readStateFile(repo.dir))!;
    const worktree = failed.tasks['a']!.worktree;
    // A person fixes a file by hand after the failure, and does not commit.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(join(worktree, 'README.md'), 'fixed by hand\n');

    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const out = retried.stdout + retried.stderr;
    const said =
      /the uncommitted changes made in .* after the failure \(README\.md: a fix by hand\?\) are not built on, only commits are: they are kept in (\S+)\. /.exec(
        out,
      );
    expect(said, out).not.toBeNull();
    const kept = said![1]!;
    expect(kept).toMatch(
      new RegExp(`^refs/parallel-executor/${failed.execution_id}/a/attempt-\\d+$`),
    );
    expect(out).toContain(`git checkout ${kept} -- <file>`);
    expect(await repo.git(['show', `${kept}:README.md`])).toBe('fixed by hand');
    // The agent's own leftover (written before it failed) is not named as the person's.
    expect(out).not.toMatch(/after the failure \([^)]*half-1\.txt/);
    await expectInvariant();
  });
});

describe('retries within a run', () => {
  it('keep each failed attempt (commits and uncommitted changes) under attempt-<n>, named in the summary and the report', async () => {
    env['SUCCEED_FROM'] = '2';
    const result = await run(['--retries', '1']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.tasks['a']).toMatchObject({ status: 'completed', attempts: 2 });
    const kept = `refs/parallel-executor/${state.execution_id}/a/attempt-1`;
    expect(state.tasks['a']!.kept_refs?.map((k) => k.ref)).toEqual([kept]);
    expect(await repo.git(['show', `${kept}:broken-1.txt`])).toBe('broken 1');
    expect(await repo.git(['show', `${kept}:half-1.txt`])).toBe('half done 1');
    // The retry started clean: nothing of attempt 1 was integrated.
    const tree = await repo.git(['ls-tree', '--name-only', state.integration!.branch]);
    expect(tree).not.toContain('broken-1.txt');
    expect(tree).not.toContain('half-1.txt');
    expect(result.stdout).toContain(kept);
    expect(await readFile(state.report_path!, 'utf8')).toContain(kept);
    await expectInvariant();
  });
});

describe("resume --retry-failed of a task whose agent deleted its worktree's .git file", () => {
  // chaos --extra seed 11001: git still had the branch checked out in that folder, so moving it
  // back for the retry failed, and the resume stopped with git's error, every other task left
  // unfinished and the checkout's changes unnamed; each resume after stopped the same way.
  it('leaves it failed, says to move the folder, then retries it once the folder is gone', async () => {
    const agent = [
      'echo "$PE_TASK_ID" >> "$RUNS"',
      'n=$(wc -l < "$RUNS")',
      'if [ "$n" -eq 1 ]; then ' +
        [
          'printf "broken\\n" > broken.txt',
          'git add broken.txt',
          'git commit -q -m broken',
          LEDGER_LINE,
          'rm -f .git',
          'exit 0',
        ].join('; ') +
        '; fi',
      'printf "done\\n" > done.txt',
      'git add done.txt',
      'git commit -q -m done',
      LEDGER_LINE,
    ].join('; ');
    const first = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', agent],
      repo.dir,
      env,
    );
    expect(first.code).toBe(1);
    const worktree = (await readStateFile(repo.dir))!.tasks['a']!.worktree;

    const refused = await cli(['resume', '--retry-failed'], repo.dir, env);
    const out = refused.stdout + refused.stderr;
    expect(out).toContain(
      `not retried, since its worktree ${worktree} is no longer a git worktree`,
    );
    expect(out).not.toContain('cannot force update the branch');
    expect((await readStateFile(repo.dir))!.tasks['a']!.status).toBe('failed');
    expect(await lines(box.file('runs'))).toHaveLength(1);
    await expectInvariant();

    await rename(worktree, box.file('moved'));
    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.integration!.merged).toEqual(['a']);
    expect(await repo.git(['show', `${state.integration!.branch}:done.txt`])).toBe('done');
    await expectInvariant();
  });
});

describe('clean after resume --retry-failed', () => {
  // Each resume --retry-failed set the earlier integration branch aside and forgot it: clean never
  // removed it, nor the repairs made for it, and a branch per retry piled up.
  const AGENT = [
    'printf "%s\\n" "$PE_TASK_ID" > "$PE_TASK_ID.txt"',
    'git add "$PE_TASK_ID.txt"',
    'git commit -q -m "work $PE_TASK_ID"',
    LEDGER_LINE,
    'if [ "$PE_TASK_ID" = b ] && [ ! -e "$FIXED" ]; then exit 1; fi',
  ].join('; ');

  async function failThenRetry(beforeRetry: (earlier: string) => Promise<void>) {
    env['FIXED'] = box.file('fixed');
    await writePlanJson(repo.dir, plan([task('a'), task('b')]));
    const first = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', AGENT],
      repo.dir,
      env,
    );
    expect(first.code, first.stdout + first.stderr).toBe(1);
    const earlier = (await readStateFile(repo.dir))!.integration!.branch;
    await beforeRetry(earlier);
    await writeFile(box.file('fixed'), '');
    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.integration!.merged.sort()).toEqual(['a', 'b']);
    expect(state.integration!.branch).not.toBe(earlier);
    return { earlier, current: state.integration!.branch, id: state.execution_id };
  }

  it('deletes the integration the resume set aside once everything it merged is in the new one', async () => {
    const { earlier, current } = await failThenRetry(async () => {});
    // The retried run's own clean-up removed it: only the tool's merges were on it.
    const branches = (await repo.git(['branch', '--format=%(refname:short)'])).split('\n');
    expect(branches).not.toContain(earlier);
    expect(branches).toContain(current);
    await expectInvariant();
  });

  it('keeps one holding a commit found nowhere else unless --force, which keeps its tip under a ref', async () => {
    const { earlier, id } = await failThenRetry(async (branch) => {
      // A fix made on the integration branch by hand before the retry.
      const fixer = box.file('fixer');
      await repo.git(['worktree', 'add', '-q', fixer, branch]);
      await writeFile(join(fixer, 'by-hand.txt'), 'by hand\n');
      await repo.git(['add', 'by-hand.txt'], fixer);
      await repo.git(['commit', '-q', '-m', 'fix by hand'], fixer);
      await repo.git(['worktree', 'remove', fixer]);
    });
    const cleaned = await cli(['clean'], repo.dir, env);
    expect(cleaned.stdout).toContain(
      `kept    branch   ${earlier} (earlier integration: an earlier integration, set aside by resume; 1 commit(s) on it are in neither`,
    );
    expect(await repo.git(['branch', '--list', earlier])).not.toBe('');

    const forced = await cli(['clean', '--force'], repo.dir, env);
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    const holder = `refs/parallel-executor/${id}/integration/attempt-1`;
    expect(forced.stdout).toContain(`its tip is kept as ${holder}`);
    expect(await repo.git(['branch', '--list', earlier])).toBe('');
    expect(await repo.git(['show', `${holder}:by-hand.txt`])).toBe('by hand');
    await expectInvariant();
  });
});

describe('durations after a resume', () => {
  // "SUCCESS in 1h0m" for a run of seconds: the hour it stood failed before the retry counted.
  it('leave out the time the execution stood stopped, in the summary, the report and the state', async () => {
    env['SUCCEED_FROM'] = '2';
    const first = await run();
    expect(first.code).toBe(1);
    // The failure was an hour ago: the state's times moved back by that much.
    const failed = (await readStateFile(repo.dir))!;
    const { stateFile } = executionPaths(repo.dir, failed.execution_id);
    const hourEarlier = (time: string | null) =>
      time === null ? null : new Date(Date.parse(time) - 3_600_000).toISOString();
    failed.started_at = hourEarlier(failed.started_at)!;
    failed.finished_at = hourEarlier(failed.finished_at);
    for (const task of Object.values(failed.tasks)) {
      task.started_at = hourEarlier(task.started_at);
      task.finished_at = hourEarlier(task.finished_at);
    }
    await writeFile(stateFile, JSON.stringify(failed, null, 2));

    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.stopped_ms).toBeGreaterThanOrEqual(3_600_000);
    // Seconds, not an hour: the summary line, the task's line and the report.
    const summary = /Execution \S+: SUCCESS in (\S+)/.exec(retried.stdout);
    const seconds = String.raw`(\d+ms|\d+(\.\d+)?s)`;
    expect(summary?.[1], retried.stdout).toMatch(new RegExp(`^${seconds}$`));
    expect(retried.stdout).toMatch(new RegExp(` a \\S+ in ${seconds}[, ]`));
    const report = await readFile(state.report_path!, 'utf8');
    expect(report).toMatch(new RegExp(`- \\*\\*Duration\\*\\*: ${seconds}\n`));
  });
});
