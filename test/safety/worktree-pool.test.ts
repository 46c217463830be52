/**
 * `workspace.pool`: clean-up parks finished worktrees, the next run's tasks take them. A parked
 * worktree must be indistinguishable from a new one to the agent and to the collection (no file,
 * ref, reflog entry or git state of the task before), and every commit of both runs accounted for.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/engine/plan/schema.js';
import type { TaskRun } from '../../src/engine/state/schema.js';
import { POOL_DIR } from '../../src/engine/workspace/pool.js';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, task } from '../engine/helpers.js';
import {
  adminOf,
  LOOK,
  outsideLauncher,
  outsideProcessIn,
  poolDirIn,
  usePoolRepo,
  withFakeGit,
  WORK,
} from './pool-support.js';

const stops: Array<() => void> = [];

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

const POOL = 2;
const box = usePoolRepo(POOL);

const poolDir = () => poolDirIn(box.repo);
const pooled = () => box.pooled();
const worktreeList = async () =>
  (await box.repo.git(['worktree', 'list', '--porcelain']))
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));

function firstRunPlan(): Plan {
  return plan([task('1'), task('2'), task('3')]);
}

function secondRunPlan(): Plan {
  return plan([task('4'), task('5'), task('6')]);
}

describe('worktrees kept ready between runs (workspace.pool)', () => {
  it('parks finished worktrees and hands them to the next run as if they were new', async () => {
    await box.fresh();
    // Task 3 leaves a ref of its own worktree (refs/worktree/*), task 2 an index entry git is
    // told not to look at: neither is a worktree to hand on.
    const first = await box.run(
      firstRunPlan(),
      `${LOOK}; ${WORK}; if [ "$PE_TASK_ID" = 3 ]; then git update-ref refs/worktree/mine HEAD; fi; ` +
        'if [ "$PE_TASK_ID" = 2 ]; then git update-index --assume-unchanged src/a.ts; fi',
      { cleanUp: true },
    );
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(first.state.status).toBe('completed');
    expect(first.state.integration?.merged.slice().sort()).toEqual(['1', '2', '3']);
    // Task 1's parked, the others removed; the tasks' own folders are gone.
    expect(await pooled(), first.cleaned).toHaveLength(1);
    expect(first.cleaned).toMatch(
      /^2: removed, .*not kept ready for the next run: 1 index entries are marked/m,
    );
    expect(first.cleaned).toMatch(
      /^3: removed, .*not kept ready for the next run: its git state holds refs$/m,
    );
    for (const t of Object.values(first.state.tasks)) expect(existsSync(t.worktree)).toBe(false);
    expect((await worktreeList()).filter((p) => p.includes(POOL_DIR))).toHaveLength(1);
    const parkedAdmins = await Promise.all(
      (await pooled()).map((name) => adminOf(join(poolDir(), name))),
    );
    expect(parkedAdmins.map((admin) => admin.slice(-1))).toEqual(['1']);
    // Parked: detached, nothing git does not track (the collection committed scratch.txt).
    for (const name of await pooled()) {
      const where = join(poolDir(), name);
      expect(spawnSync('git', ['symbolic-ref', '-q', 'HEAD'], { cwd: where }).status).toBe(1);
      expect(existsSync(join(where, 'node_modules'))).toBe(false);
      expect(await box.repo.git(['status', '--porcelain', '--ignored'], where)).toBe('');
    }

    const second = await box.run(secondRunPlan(), `${LOOK}; ${WORK}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    expect(second.state.status).toBe('completed');
    expect(await pooled()).toEqual([]);
    const tasks = ['4', '5', '6'].map((id) => second.state.tasks[id]!);
    const admins = await Promise.all(tasks.map((t) => adminOf(t.worktree)));
    const reused = tasks.filter((_, i) => parkedAdmins.includes(admins[i]!));
    const fresh = tasks.filter((_, i) => !parkedAdmins.includes(admins[i]!));
    expect(reused).toHaveLength(1);
    expect(fresh).toHaveLength(2);
    // What each agent saw first: the same in a parked worktree as in a new one, down to the
    // branch and the one-entry HEAD reflog.
    const seen = async (t: TaskRun) =>
      (await box.repo.git(['show', `${t.branch}:seen-${t.task_id}.txt`]))
        .replaceAll(t.branch, '<branch>')
        .replaceAll(`-${t.task_id}.txt`, '-<task>.txt');
    const expected = await seen(fresh[0]!);
    for (const t of reused) expect(await seen(t)).toBe(expected);
    expect(expected).not.toMatch(/agent-|scratch|node_modules|refs\/worktree/);
    // Nothing of the first run's agents came along, and the collection saw no wandering HEAD.
    for (const t of tasks) {
      expect(t.kept_refs ?? []).toEqual([]);
      expect((await box.repo.git(['ls-tree', '--name-only', t.branch])).split('\n').sort()).toEqual(
        [
          '.gitignore',
          `agent-${t.task_id}.txt`,
          // Left uncommitted by the agent: the collection commits it.
          'scratch.txt',
          `seen-${t.task_id}.txt`,
          'src',
        ],
      );
    }
    expect(second.state.integration?.merged.slice().sort()).toEqual(['4', '5', '6']);
  });

  it('removes rather than parks a worktree a process still works in', async () => {
    await box.fresh();
    // A process the engine cannot tell is the agent's (an agent's daemon its process tree did not
    // catch, an editor's watcher) outlives the agent, still in the worktree.
    const launcher = outsideLauncher(box.ledger.dir);
    stops.push(launcher.stop);
    const first = await box.run(plan([task('1')]), `${WORK}; ${outsideProcessIn('$PWD')}`, {
      cleanUp: true,
    });
    const pid = launcher.pids[0]!;
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(first.state.status).toBe('completed');
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(await pooled()).toEqual([]);
    expect(first.cleaned).toMatch(
      new RegExp(`not kept ready for the next run: processes still use it \\(pid ${pid}\\)`),
    );
    expect(await worktreeList()).toEqual([box.repo.dir]);
  });

  it('drops a parked worktree git no longer knows, and a pool turned off gives its disk back', async () => {
    await box.fresh();
    await box.run(plan([task('1'), task('2')]), WORK, { cleanUp: true });
    const [broken, intact] = await pooled();
    expect(intact).toBeDefined();
    // Git forgets one (its admin folder removed and pruned, as `git worktree prune` would).
    await rm(await adminOf(join(poolDir(), broken!)), { recursive: true, force: true });

    const second = await box.run(plan([task('3'), task('4')]), WORK, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    expect(second.state.status).toBe('completed');
    expect(await pooled()).toEqual([]);

    // Clean-up with the pool at 0: every worktree removed, none parked, the pool folder gone.
    const cleaned = await box.clean(second, 0);
    expect(cleaned.errors).toBe(0);
    expect(await worktreeList()).toEqual([box.repo.dir]);
    expect(existsSync(poolDir())).toBe(false);
  });

  it('a take stopped between moving a parked worktree and checking it out resumes from the base', async () => {
    await box.fresh();
    await box.run(plan([task('1')]), WORK, { cleanUp: true });
    expect(await pooled()).toHaveLength(1);
    // The checkout after the move fails, as if the orchestrator died there: the worktree sits at
    // the task's place, still at the first task's commit.
    const failed = await withFakeGit(
      'seen=\nfor a in "$@"; do case "$a" in core.hooksPath=/dev/null) seen=1;; ' +
        'checkout) [ -n "$seen" ] && [ "$#" -ge 6 ] && case " $* " in *" --detach "*) ;; *) echo "killed" >&2; exit 1;; esac;; esac; done',
      () => box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false }),
    );
    const t = failed.state.tasks['2']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/killed/);
    expect(existsSync(join(t.worktree, 'agent-1.txt'))).toBe(true);

    const resumed = await resumeExecution({
      cwd: box.repo.dir,
      runner: createCommandRunner({ command: `${LOOK}; ${WORK}`, graceMs: 300 }),
      env: agentEnv({ LEDGER: box.ledger.dir }),
      settings: { ...FAST, pool: POOL },
      retryFailed: true,
    });
    const again = resumed.state.tasks['2']!;
    expect(again.status).toBe('completed');
    // The task's branch starts at the base (its commit, then the collection's): nothing of task 1.
    expect(
      (await box.repo.git(['ls-tree', '--name-only', again.branch])).split('\n').sort(),
    ).toEqual(['.gitignore', 'agent-2.txt', 'scratch.txt', 'seen-2.txt', 'src']);
    expect(await box.repo.git(['rev-parse', `${again.branch}~2`])).toBe(failed.state.base_sha);
  });
});
