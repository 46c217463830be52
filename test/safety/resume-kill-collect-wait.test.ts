import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { pathExists } from '../../src/engine/path-exists.js';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
} from '../support/invariant.js';
import {
  killHard,
  LEDGER_AGENT,
  lines,
  readStateFile,
  spawnRun,
  waitFor,
} from './resume-support.js';

/**
 * kill -9 of the orchestrator while an ended agent's collection waits for another task's
 * checkout (mutex.afterCheckouts), then `resume`: the agent's commit and the file it left are
 * collected, it is not run again, and the task whose checkout was cut off runs once.
 */

let repo: TempRepo | undefined;
let box: Scratch | undefined;

afterEach(async () => {
  // Whatever the killed run left waiting ends now.
  if (box !== undefined) await writeFile(box.file('go'), '').catch(() => undefined);
  await repo?.cleanup();
  await box?.cleanup();
  repo = box = undefined;
});

describe('resume after kill -9 while a collection waits for a checkout', () => {
  it('collects the waiting task’s work, never runs its agent again, and loses nothing', async () => {
    repo = await createTempRepo({
      files: {
        '.gitignore': 'plan.json\n',
        'README.md': 'x\n',
        '.github/parallel-executor.yml':
          'timeouts:\n  grace: 1s\nintegration:\n  testCommand: false\n',
      },
    });
    box = await scratch();
    await mkdir(box.file('ledger'));
    await mkdir(box.file('bin'));
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    // Task b's first checkout (`reset --hard` in its new worktree) is held until $GO; once the
    // orchestrator is dead it gives up without running git, so that nothing touches the worktree
    // while resume does.
    await writeFile(
      box.file('bin/git'),
      [
        '#!/bin/sh',
        'case "$PWD" in *slow-checkout*) case " $* " in *" reset --quiet --hard "*)',
        `  if mkdir "${box.file('held')}" 2>/dev/null; then`,
        `    touch "${box.file('b-started')}"`,
        `    while [ ! -e "${box.file('go')}" ]; do sleep 0.05; done`,
        `    if [ -e "${box.file('killed')}" ]; then touch "${box.file('gave-up')}"; exit 1; fi`,
        '  fi ;; esac ;; esac',
        `exec "${realGit}" "$@"`,
        '',
      ].join('\n'),
    );
    await chmod(box.file('bin/git'), 0o755);
    const env = {
      PATH: `${box.file('bin')}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'],
      RUNS: box.file('runs'),
      GO: box.file('go'),
      LEDGER: box.file('ledger'),
      WAIT_FOR: '',
      B_STARTED: box.file('b-started'),
    };
    await writePlanJson(repo.dir, plan([task('a'), task('b', { title: 'Slow checkout' })]));
    const before = await snapshotCheckout(repo.dir);
    // a's agent ends only once b's checkout is held: its collection then waits for it.
    const agent = `if [ "$PE_TASK_ID" = a ]; then while [ ! -e "$B_STARTED" ]; do sleep 0.05; done; fi; ${LEDGER_AGENT}`;
    const first = spawnRun(repo.dir, env, ['--plan', 'plan.json', '--agent-command', agent]);
    await waitFor(
      async () => (await readStateFile(repo!.dir))?.tasks['a']?.status === 'collecting',
    );
    await killHard(first);
    const killed = (await readStateFile(repo.dir))!;
    expect(killed.tasks['a']!.status).toBe('collecting');
    expect(killed.tasks['b']!.status).toBe('preparing');
    await writeFile(box.file('killed'), '');
    await writeFile(box.file('go'), '');
    // The held git gave up: nothing of the killed run touches b's worktree during the resume.
    await waitFor(() => pathExists(box!.file('gave-up')));

    const result = await cli(['resume', '--json'], repo.dir, env);
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(result.stdout) as { status: string };
    expect(doc.status).toBe('completed');
    const runs = await lines(box.file('runs'));
    expect({
      a: runs.filter((id) => id === 'a').length,
      b: runs.filter((id) => id === 'b').length,
    }).toEqual({
      a: 1,
      b: 1,
    });
    const state = (await readStateFile(repo.dir))!;
    const a = state.tasks['a']!;
    expect(a.status).toBe('completed');
    // Its commit and the file it left, collected and merged.
    const merged = state.integration!.branch;
    expect(state.integration?.merged).toEqual(['a', 'b']);
    expect(await repo.git(['show', `${merged}:out-a.txt`])).toBe('work of a');
    expect(await repo.git(['show', `${merged}:left-a.txt`])).toBe('left by a');
    const report = await checkInvariant({
      repoRoot: repo.dir,
      state,
      ledger: await readLedger(box.file('ledger')),
      before,
    });
    expect(report.ok, describeReport(report)).toBe(true);
  }, 60_000);
});
