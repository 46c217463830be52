/**
 * Collection waits until no checkout runs or waits (mutex.afterCheckouts): what an agent's
 * leftovers do to its worktree in that wait must not turn into git commands run elsewhere. And
 * the look at a worktree's `.git` never blocks on what an agent put there.
 */
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, isolateGitConfig, LEDGER_COMMIT, runChecked } from './collect-support.js';
import { holdCheckout, withFakeGit } from './pool-support.js';
import type { ExecutionEvent } from '../../src/engine/monitor/events.js';

isolateGitConfig();

let repo: TempRepo | undefined;
let ledger: Scratch | undefined;
let mine: string | undefined;
afterEach(async () => {
  if (mine !== undefined) await rm(mine, { recursive: true, force: true });
  await repo?.cleanup();
  await ledger?.cleanup();
  repo = ledger = mine = undefined;
});

/**
 * Tasks 1 (`title`) and 2, every agent `agentCommand`, with task 2's checkout held (a fake git)
 * from when it starts (the mark `t2-started`) until the mark `until` exists; `onCollecting` is
 * called when task 1 turns to collecting. Task 1's agent waits for `t2-started`, so its collection
 * is asked for while that checkout is held.
 */
async function runWithCheckoutHeld(
  title: string,
  agentCommand: string,
  until: string,
  onCollecting: () => void,
  seen?: (event: ExecutionEvent) => void,
) {
  const marks = ledger!.dir;
  return withFakeGit(
    holdCheckout('slow-checkout', `${marks}/t2-started`, `${marks}/${until}`),
    () =>
      runChecked(
        repo!,
        marks,
        plan([task('1', { title }), task('2', { title: 'Slow checkout' })]),
        agentCommand,
        {
          onEvent: (event) => {
            seen?.(event);
            if (
              event.type === 'task-status' &&
              event.taskId === '1' &&
              event.status === 'collecting'
            )
              onCollecting();
          },
        },
      ),
  );
}

describe('a daemon that points the worktree at the user’s while its collection waits', () => {
  it('is caught when the collection starts: no git runs in the user’s worktree', async () => {
    repo = await createTempRepo({ files: { 'src/a.txt': 'a\n' } });
    ledger = await scratch();
    // The user's own linked worktree, on its branch, a change staged.
    mine = join(repo.dir, '..', `${repo.dir.split('/').pop()}-mine`);
    await repo.git(['worktree', 'add', '-q', '-b', 'mine', mine]);
    await writeFile(join(mine, 'src', 'a.txt'), 'user\n');
    await repo.git(['add', 'src/a.txt'], mine);
    const theirs = (await readFile(join(mine, '.git'), 'utf8')).trim();
    const marks = ledger.dir;
    // Something task 1's agent left behind (a daemon no sweep finds: here the test itself, so no
    // look at the agent's process tree can stop it) points its .git at the user's worktree once
    // the task is collecting and has had time for the look at its .git made as the agent ends.
    const command =
      'if [ "$PE_TASK_ID" = 1 ]; then ' +
      `echo work > work.txt && git add work.txt && ${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && ` +
      'echo more > more.txt && echo "$PWD" > "$LEDGER/t1-worktree" && ' +
      'while [ ! -e "$LEDGER/t2-started" ]; do sleep 0.05; done; ' +
      `else echo two > two.txt && git add two.txt && ${AGENT_GIT} commit -qm two && ${LEDGER_COMMIT}; fi`;
    const redirect = () => {
      const worktree = readFileSync(join(marks, 't1-worktree'), 'utf8').trim();
      writeFileSync(join(worktree, '.git'), `${theirs}\n`);
      writeFileSync(join(marks, 'redirected'), '');
    };
    // Task 2's checkout is held until the redirect is done, so task 1's collection, asked for as
    // its agent ends, waits for it.
    let timer: NodeJS.Timeout | undefined;
    const run = await runWithCheckoutHeld('Leaves a daemon', command, 'redirected', () => {
      timer = setTimeout(redirect, 300);
    }).finally(() => clearTimeout(timer));
    const t = run.state.tasks['1']!;
    // The redirect happened while task 2's checkout was held: the order above held.
    expect(await readFile(join(marks, 'redirected'), 'utf8')).toBe('');
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(
      /is no longer a git worktree of its own .* no git command was run there/,
    );
    // The user's worktree: still on its branch, its change still staged, nothing committed.
    expect(await repo.git(['symbolic-ref', '--short', 'HEAD'], mine)).toBe('mine');
    expect(await repo.git(['diff', '--cached', '--name-only'], mine)).toBe('src/a.txt');
    expect(await repo.git(['log', '-1', '--format=%s', 'mine'])).not.toContain('parallel-executor');
    // What the agent committed is on its branch; what it left is in its folder.
    expect(await repo.git(['show', `${t.branch}:work.txt`])).toBe('work');
    expect(await readFile(join(t.worktree, 'more.txt'), 'utf8')).toBe('more\n');
    expect(run.state.tasks['2']!.status).toBe('completed');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  }, 30_000);
});

describe('an agent that leaves a FIFO as its .git', () => {
  it('fails the task as not its own worktree; the run does not hang on reading it', async () => {
    repo = await createTempRepo({ files: { 'src/a.txt': 'a\n' } });
    ledger = await scratch();
    const command =
      `echo work > work.txt && git add work.txt && ${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && ` +
      'echo more > more.txt && echo "$PWD/.git" > "$LEDGER/fifo" && rm .git && mkfifo .git';
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), command);
      const t = run.state.tasks['1']!;
      expect(t.status).toBe('failed');
      expect(t.reason).toMatch(/is no longer a git worktree of its own/);
      expect(await repo.git(['show', `${t.branch}:work.txt`])).toBe('work');
      expect(await readFile(join(t.worktree, 'more.txt'), 'utf8')).toBe('more\n');
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    } finally {
      // A reader still blocked on it (the hang this guards against) gets its end of file.
      const fifo = (await readFile(join(ledger.dir, 'fifo'), 'utf8').catch(() => '')).trim();
      if (fifo !== '') {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // No reader: nothing hangs.
        }
      }
    }
  }, 10_000);
});

describe('an agent that commits on the user’s branch, its look at the checkout delayed', () => {
  it('still fails that task, and only that one, once the checkout it waited for is done', async () => {
    repo = await createTempRepo({ files: { 'src/a.txt': 'a\n' } });
    ledger = await scratch();
    const marks = ledger.dir;
    const command =
      'if [ "$PE_TASK_ID" = 1 ]; then ' +
      'git checkout -q --ignore-other-worktrees main && ' +
      `echo intrude > intrude.txt && git add intrude.txt && ${AGENT_GIT} commit -qm intrude && ` +
      'git checkout -q "$PE_BRANCH" && ' +
      'while [ ! -e "$LEDGER/t2-started" ]; do sleep 0.05; done; ' +
      `else echo two > two.txt && git add two.txt && ${AGENT_GIT} commit -qm two && ${LEDGER_COMMIT}; fi`;
    // Task 2's checkout is held until task 1 is collecting: task 1's look waits for it.
    const run = await runWithCheckoutHeld('Intrudes', command, 'collecting', () =>
      writeFileSync(join(marks, 'collecting'), ''),
    );
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/it changed your checkout: .*branch main moved/);
    expect(run.state.tasks['2']!.status).toBe('completed');
    expect(run.state.checkout_changes?.join('\n')).toMatch(/by task 1 \(commit [0-9a-f]{12}/);
  }, 30_000);
});

describe('a task whose collection waits for checkouts', () => {
  it('says so while it waits, then collects', async () => {
    repo = await createTempRepo({ files: { 'src/a.txt': 'a\n' } });
    ledger = await scratch();
    const marks = ledger.dir;
    const command =
      'if [ "$PE_TASK_ID" = 1 ]; then echo one > one.txt; ' +
      'while [ ! -e "$LEDGER/t2-started" ]; do sleep 0.05; done; ' +
      `else echo two > two.txt && git add two.txt && ${AGENT_GIT} commit -qm two && ${LEDGER_COMMIT}; fi`;
    const steps: Array<string | null> = [];
    let timer: NodeJS.Timeout | undefined;
    const run = await runWithCheckoutHeld(
      'Waits',
      command,
      'released',
      () => {
        timer = setTimeout(() => writeFileSync(join(marks, 'released'), ''), 300);
      },
      (event) => {
        if (event.type === 'task-progress' && event.taskId === '1') steps.push(event.step);
      },
    ).finally(() => clearTimeout(timer));
    expect(steps).toContain('waiting for 1 checkout(s) of tasks about to start, then collecting');
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('completed');
    expect(t.current_step).toBeNull();
    expect(await repo.git(['show', `${t.branch}:one.txt`])).toBe('one');
  }, 30_000);
});
