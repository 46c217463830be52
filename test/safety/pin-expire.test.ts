import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import { pathExists } from '../../src/engine/path-exists.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { readLedger } from '../support/invariant.js';
import { AGENT_GIT, LEDGER_COMMIT, runChecked } from './collect-support.js';
import { killHard, readStateFile, spawnRun, waitFor } from './resume-support.js';

/**
 * Agent a commits, amends (its first commit is then only in the reflogs) and waits; agent b, a
 * second after a's amend, runs `git reflog expire --expire=now --all && git gc --prune=now`, which
 * empties every worktree's reflogs and prunes what only they held. The commit a dropped was pinned
 * while a ran: it still exists after the run and a's `kept_refs` name it, and the pin is gone.
 */

let repo: TempRepo;
let box: Scratch;
afterEach(async () => {
  if (box !== undefined) await writeFile(box.file('go'), '').catch(() => undefined);
  await repo?.cleanup();
  await box?.cleanup();
});

const until = (file: string) => `while [ ! -e "${file}" ]; do sleep 0.05; done`;

/** a: commit, amend, say so, then wait for `$GO`; b: once a amended, expire and prune. */
function agents(go: string): string {
  const a = [
    `echo one > a.txt && git add a.txt && ${AGENT_GIT} commit -qm one && ${LEDGER_COMMIT}`,
    `echo more >> a.txt && git add a.txt && ${AGENT_GIT} commit -q --amend --no-edit && ${LEDGER_COMMIT}`,
    'touch "$MARKS/amended"',
    until(go),
  ].join(' && ');
  const b = [
    until('$MARKS/amended'),
    // A second, as between two agents' moves: the pin is made within milliseconds.
    'sleep 1',
    'git reflog expire --expire=now --all && git gc -q --prune=now',
    'echo b > b.txt',
    'touch "$MARKS/pruned"',
    until(go),
  ].join(' && ');
  return `case "$PE_TASK_ID" in a) ${a};; b) ${b};; esac`;
}

async function firstCommitOfA(ledgerDir: string): Promise<string> {
  const commits = (await readLedger(ledgerDir))
    .filter((entry) => entry.task === 'a' && entry.commit !== undefined)
    .map((entry) => entry.commit!);
  expect(commits).toHaveLength(2);
  return commits[0]!;
}

async function expectKept(state: ExecutionState, dropped: string): Promise<void> {
  // It exists, a ref the output names holds it, and that ref is one of a's `kept_refs`.
  expect(await repo.git(['cat-file', '-t', dropped])).toBe('commit');
  const kept = (state.tasks['a']!.kept_refs ?? []).filter((entry) => entry.sha === dropped);
  expect(kept, JSON.stringify(state.tasks['a']!.kept_refs)).toHaveLength(1);
  expect(await repo.git(['rev-parse', kept[0]!.ref])).toBe(dropped);
  // The pin is no clutter once what it held is kept.
  const pins = await repo.git(['for-each-ref', `refs/parallel-executor/${state.execution_id}/`]);
  expect(pins).not.toMatch(/\/pinned$/m);
}

describe("another agent's reflog expire and gc --prune=now while a task runs", () => {
  it('keeps the commit the task amended away, named in its kept_refs', async () => {
    repo = await createTempRepo({ files: { 'README.md': 'x\n' } });
    box = await scratch();
    await mkdir(box.file('marks'));
    await mkdir(box.file('ledger'));
    // a goes on once b has pruned.
    const run = await runChecked(
      repo,
      box.file('ledger'),
      plan([task('a'), task('b')]),
      agents('$MARKS/pruned'),
      { env: { MARKS: box.file('marks') } },
    );
    const dropped = await firstCommitOfA(box.file('ledger'));
    const a = run.state.tasks['a']!;
    expect(run.state.tasks['b']!.status).toBe('completed');
    expect(a.status).toBe('completed');
    // b did empty a's reflog: the run says so.
    expect(a.warnings?.join('\n')).toMatch(/was emptied during the run/);
    await expectKept(run.state, dropped);
    expect(a.warnings?.join('\n')).toMatch(/left off its branch.*kept at refs\/parallel-executor/);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  }, 60_000);

  it('keeps it through a kill -9 of the orchestrator after the prune, then resume', async () => {
    const env = await killedAfterPrune();
    const resumed = await cli(['resume', '--json'], repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.tasks['a']!.status).toBe('completed');
    await expectKept(state, await firstCommitOfA(box.file('ledger')));
  }, 60_000);

  it('keeps it when the killed execution is cleaned (--force) instead of resumed', async () => {
    const env = await killedAfterPrune();
    const cleaned = await cli(['clean', '--force', '--json'], repo.dir, env);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    await expectKept(state, await firstCommitOfA(box.file('ledger')));
    expect(cleaned.stdout).toContain(`refs/parallel-executor/${state.execution_id}/a/left-`);
  }, 60_000);
});

/**
 * The run of `agents` in a subprocess, killed with SIGKILL once b has pruned (a's first commit is
 * then only pinned), its orphaned agents left to end. Returns the environment for the next command.
 */
async function killedAfterPrune(): Promise<Record<string, string | undefined>> {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'README.md': 'x\n',
      '.github/parallel-executor.yml':
        'timeouts:\n  grace: 1s\nintegration:\n  testCommand: false\n',
    },
  });
  box = await scratch();
  await mkdir(box.file('marks'));
  await mkdir(box.file('ledger'));
  await writePlanJson(repo.dir, plan([task('a'), task('b')]));
  const env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    MARKS: box.file('marks'),
    LEDGER: box.file('ledger'),
    GO: box.file('go'),
  };
  const first = spawnRun(repo.dir, env, ['--plan', 'plan.json', '--agent-command', agents('$GO')]);
  await waitFor(() => pathExists(box.file('marks/pruned')));
  const running = (await readStateFile(repo.dir))!;
  await killHard(first);
  const pin = `refs/parallel-executor/${running.execution_id}/a/pinned`;
  // What the orchestrator pinned before it died is still there.
  expect(await repo.git(['for-each-ref', '--format=%(refname)', pin])).toBe(pin);
  await writeFile(box.file('go'), '');
  for (const id of ['a', 'b']) {
    await waitFor(async () => {
      const pid = (await readStateFile(repo.dir))?.tasks[id]?.pid ?? null;
      return pid === null || !isProcessAlive(pid);
    });
  }
  return env;
}
