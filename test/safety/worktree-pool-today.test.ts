/**
 * The worktree pool's faster take attacked: it cleans only when its listing saw something
 * untracked, and makes the task's branch while it looks. What the listing cannot see (a `.git`
 * in a tracked folder, a folder behind an index entry), git state written into a parked
 * worktree's git folder, a worktree git cannot read, a take stopped half way, and a commit made
 * there (reflogs off, or its removal failing) must not reach the next task, fail it, or go unsaid.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, task } from '../engine/helpers.js';
import { AGENT_GIT } from './collect-support.js';
import { adminOf, LOOK, poolDirIn, usePoolRepo, withFakeGit, WORK } from './pool-support.js';

const box = usePoolRepo(3);

/** LOOK, plus what is in the tracked folder `src` (where a `.git` hides from git). */
const LOOK_SRC = `${LOOK}; ls -A src >> "seen-$PE_TASK_ID.txt"`;

/** The one parked worktree after a run of one task with clean-up. */
async function parkOne(): Promise<string> {
  await box.fresh();
  const first = await box.run(plan([task('1')]), WORK, { cleanUp: true });
  expect(first.invariant.ok, first.invariant.text).toBe(true);
  const names = await box.pooled();
  expect(names, first.cleaned).toHaveLength(1);
  return join(poolDirIn(box.repo), names[0]!);
}

/**
 * Task 2 of `run` completed, and the commit `made` in a parked worktree is kept under the run's
 * pool refs, which the task's warnings name.
 */
async function expectKeptAndNamed(run: Awaited<ReturnType<typeof box.run>>, made: string) {
  expect(run.invariant.ok, run.invariant.text).toBe(true);
  const t = run.state.tasks['2']!;
  expect(t.status, t.reason ?? '').toBe('completed');
  const ref = await box.repo.git([
    'for-each-ref',
    '--format=%(refname)',
    `--points-at=${made}`,
    `refs/parallel-executor/${run.state.execution_id}/pool/`,
  ]);
  expect(ref).not.toBe('');
  expect(t.warnings?.join('\n')).toContain(`kept at ${ref}`);
  return t;
}

describe("the pool's faster take under attack", () => {
  it('a parked worktree whose index is garbage is replaced, the task not failed', async () => {
    const parked = await parkOne();
    await writeFile(join(await adminOf(parked), 'index'), 'not an index\n');
    const second = await box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    const t = second.state.tasks['2']!;
    expect(t.status, t.reason ?? '').toBe('completed');
    // Taken out of the pool (removed by git), not handed on.
    expect(await box.pooled()).toEqual([]);
  });

  it.each([
    ['a .git file', 'printf "gitdir: %s\\n" "$GD" > "$D/src/.git"'],
    [
      'a .git folder',
      'git init -q "$D/src/inner" && mv "$D/src/inner/.git" "$D/src/.git" && rmdir "$D/src/inner"',
    ],
  ])(
    '%s planted in a tracked folder of a parked worktree does not reach the next task',
    async (_, plant) => {
      const parked = await parkOne();
      const env = `D="${parked}"; GD="$(git -C "${box.repo.dir}" rev-parse --absolute-git-dir)"; `;
      execFileSync('sh', ['-c', env + plant]);
      const second = await box.run(plan([task('2')]), `${LOOK_SRC}; ${WORK}`, { cleanUp: false });
      expect(second.invariant.ok, second.invariant.text).toBe(true);
      const t = second.state.tasks['2']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(await readdir(join(t.worktree, 'src'))).toEqual(['a.ts']);
    },
  );

  it.each([
    [
      'a gitlink',
      'git -C "$D" update-index --add --cacheinfo "160000,$(git -C "$D" rev-parse HEAD),sub"',
    ],
    ['a new file', 'echo f > "$D/sub" && git -C "$D" add sub && rm "$D/sub"'],
  ])(
    '%s staged where a folder is, in a parked worktree, does not bring the folder to the next task',
    async (_, stage) => {
      const parked = await parkOne();
      // Git lists neither the folder nor its files: the index names the path.
      execFileSync('sh', [
        '-c',
        `D="${parked}"; ${stage} && mkdir -p "$D/sub" && echo leak > "$D/sub/leak.txt"`,
      ]);
      const second = await box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false });
      expect(second.invariant.ok, second.invariant.text).toBe(true);
      const t = second.state.tasks['2']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(await box.repo.git(['show', `${t.branch}:seen-2.txt`])).not.toMatch(/sub|leak/);
      expect(await readdir(t.worktree)).not.toContain('sub');
    },
  );

  it('a commit in a parked worktree git then fails to remove is still named on the task', async () => {
    const parked = await parkOne();
    execFileSync('sh', [
      '-c',
      `cd "${parked}" && echo lost > wander.txt && git add wander.txt && ${AGENT_GIT} commit -qm "made in the pool"`,
    ]);
    const made = await box.repo.git(['rev-parse', 'HEAD'], parked);
    // Git refuses to remove it (as it does a worktree with a submodule in it, or files it cannot
    // delete): the commit was kept under a ref before, which the task must still name.
    const second = await withFakeGit(
      'case " $* " in *" worktree remove "*) echo "cannot remove" >&2; exit 128;; esac',
      () => box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false }),
    );
    await expectKeptAndNamed(second, made);
  });

  it("a take's checkout that meets another task's half-made worktree (git's race) is tried again, not failed", async () => {
    const parked = await parkOne();
    const marks = box.outside.dir;
    // The first checkout of the take fails as git does while a parallel `git worktree add` has
    // made its admin folder but not filled it (seen in CI: the second task's worktree add).
    const second = await withFakeGit(
      `case " $* " in *" checkout --quiet --force agent/"*) if mkdir "${marks}/met" 2>/dev/null; then ` +
        `echo "fatal: failed to read ${box.repo.dir}/.git/worktrees/3-task-3/commondir: Success" >&2; exit 128; fi;; esac`,
      () => box.run(plan([task('2'), task('3')]), `${LOOK}; ${WORK}`, { cleanUp: false }),
    );
    expect(existsSync(join(marks, 'met'))).toBe(true);
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    const t = second.state.tasks['2']!;
    expect(t.status, t.reason ?? '').toBe('completed');
    expect(second.state.tasks['3']!.status).toBe('completed');
    // Task 2 took the parked worktree.
    expect(existsSync(parked)).toBe(false);
    expect(await box.pooled()).toEqual([]);
  });

  it('a take stopped between the move and the checkout, resumed, brings nothing of the pool to the task', async () => {
    const parked = await parkOne();
    // Ignored and untracked files planted in the parked worktree since it was parked: the take
    // sees them, and would clean them after its checkout.
    execFileSync('sh', [
      '-c',
      `mkdir -p "${parked}/node_modules/x" && echo leak > "${parked}/node_modules/x/i.js" && echo leak > "${parked}/leak.txt"`,
    ]);
    // The checkout after the move fails, as if the orchestrator died there.
    const failed = await withFakeGit(
      'case " $* " in *" checkout --quiet --force agent/"*) echo killed >&2; exit 1;; esac',
      () => box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false }),
    );
    const t = failed.state.tasks['2']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/killed/);

    const resumed = await resumeExecution({
      cwd: box.repo.dir,
      runner: createCommandRunner({ command: `${LOOK}; ${WORK}`, graceMs: 300 }),
      env: agentEnv({ LEDGER: box.ledger.dir }),
      settings: { ...FAST, pool: 3 },
      retryFailed: true,
    });
    const again = resumed.state.tasks['2']!;
    expect(again.status, again.reason ?? '').toBe('completed');
    expect(await box.repo.git(['show', `${again.branch}:seen-2.txt`])).not.toMatch(
      /leak|node_modules\/x/,
    );
    expect(await readdir(join(again.worktree, 'node_modules'))).toEqual(['dep']);
  });

  it("git state files written into a parked worktree's git folder since it was parked do not reach the next task", async () => {
    const parked = await parkOne();
    const admin = await adminOf(parked);
    const other = await box.repo.git([
      'commit-tree',
      '-m',
      'planted',
      `${await box.repo.git(['rev-parse', 'HEAD'])}^{tree}`,
    ]);
    // Where an agent's `git merge FETCH_HEAD` or `git diff AUTO_MERGE` would go.
    for (const name of ['FETCH_HEAD', 'AUTO_MERGE', 'COMMIT_EDITMSG'])
      await writeFile(join(admin, name), `${other}\n`);
    const look = `${LOOK}; ls "$(git rev-parse --git-dir)" | sort >> "seen-$PE_TASK_ID.txt"`;
    const second = await box.run(plan([task('2')]), `${look}; ${WORK}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    const t = second.state.tasks['2']!;
    expect(t.status, t.reason ?? '').toBe('completed');
    expect(await adminOf(t.worktree)).toBe(admin);
    expect(await box.repo.git(['show', `${t.branch}:seen-2.txt`])).not.toMatch(
      /FETCH_HEAD|AUTO_MERGE|COMMIT_EDITMSG/,
    );
  });

  it('a commit made in a parked worktree where reflogs are off is kept and named, not lost', async () => {
    const parked = await parkOne();
    // No reflog written: only HEAD itself says it moved.
    execFileSync('sh', [
      '-c',
      `cd "${parked}" && echo lost > wander.txt && git add wander.txt && ${AGENT_GIT} -c core.logAllRefUpdates=false commit -qm "made in the pool"`,
    ]);
    const made = await box.repo.git(['rev-parse', 'HEAD'], parked);
    const second = await box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false });
    const t = await expectKeptAndNamed(second, made);
    expect(await box.repo.git(['show', `${t.branch}:seen-2.txt`])).not.toMatch(/wander/);
  });
});
