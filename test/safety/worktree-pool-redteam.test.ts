/**
 * The worktree pool attacked: agents of one run (and the user between runs) tamper with what the
 * pool holds, and the next run must still get worktrees like new ones, lose no one's work and
 * touch nothing outside the pool.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskRun } from '../../src/engine/state/schema.js';
import { POOL_DIR } from '../../src/engine/workspace/pool.js';
import { plan, task } from '../engine/helpers.js';
import { AGENT_GIT, LEDGER_COMMIT } from './collect-support.js';
import {
  adminOf,
  LOOK,
  outsideLauncher,
  outsideProcessIn,
  poolDirIn,
  runPooled,
  usePoolRepo,
  WORK,
} from './pool-support.js';

afterEach(async () => {});

const POOL = 7;
const box = usePoolRepo(POOL);

/** The agent's shell: the pool folder, seen from its worktree (`<root>/<execution>/<task>`). */
const POOL_FROM_AGENT = '"$PWD/../../.pool"';

/** Besides LOOK: index entries with a mark, and the worktree's git admin folder. */
const LOOK_DEEPER =
  `${LOOK}; git ls-files -v | grep -v "^H " >> "seen-$PE_TASK_ID.txt"; ` +
  'ls "$(git rev-parse --git-dir)" | sort >> "seen-$PE_TASK_ID.txt"; ' +
  'git rev-parse ORIG_HEAD >> "seen-$PE_TASK_ID.txt"';

const seen = async (t: TaskRun) =>
  (await box.repo.git(['show', `${t.branch}:seen-${t.task_id}.txt`]))
    .replaceAll(t.branch, '<branch>')
    .replaceAll(`-${t.task_id}.txt`, '-<task>.txt');

describe('the worktree pool under attack', () => {
  it('an agent of the run before tampering with parked worktrees does not reach the next task', async () => {
    await box.fresh();
    const ids = (from: number) => [0, 1, 2, 3, 4, 5, 6].map((i) => String(from + i));
    const first = await box.run(plan(ids(1).map((id) => task(id))), WORK, { cleanUp: true });
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(await box.pooled(), first.cleaned).toHaveLength(7);

    // Task 8 takes the first; its agent goes into the six others: an index entry marked
    // skip-worktree, a ref of that worktree's own, a half-done merge, a new file staged, files
    // changed, added and ignored, a FIFO (git does not see it, its clean leaves it).
    const tamper =
      `i=0; for d in ${POOL_FROM_AGENT}/*/; do i=$((i+1)); case $i in ` +
      '1) git -C "$d" update-index --skip-worktree src/a.ts;; ' +
      '2) git -C "$d" update-ref refs/worktree/leak HEAD;; ' +
      '3) git -C "$d" rev-parse HEAD > "$(git -C "$d" rev-parse --git-dir)/MERGE_HEAD";; ' +
      '4) echo leak > "$d/leak.txt"; git -C "$d" add leak.txt;; ' +
      '5) echo leak > "$d/src/a.ts"; mkdir -p "$d/node_modules/x" "$d/deep/er"; ' +
      'echo leak > "$d/node_modules/x/i.js"; echo leak > "$d/deep/er/leak.txt";; ' +
      '6) mkfifo "$d/src/pipe";; esac; done';
    const second = await box.run(plan([task('8')]), `${WORK}; ${tamper}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    const parked = await Promise.all(
      (await box.pooled()).map((name) => adminOf(join(poolDirIn(box.repo), name))),
    );
    expect(parked).toHaveLength(6);

    // Seven tasks, six worktrees kept ready: at least one is new, the others must look the same.
    const third = await box.run(plan(ids(9).map((id) => task(id))), `${LOOK_DEEPER}; ${WORK}`, {
      cleanUp: false,
    });
    expect(third.invariant.ok, third.invariant.text).toBe(true);
    expect(third.state.status).toBe('completed');
    const tasks = ids(9).map((id) => third.state.tasks[id]!);
    const admins = await Promise.all(tasks.map((t) => adminOf(t.worktree)));
    const fresh = tasks.filter((_, i) => !parked.includes(admins[i]!));
    // The two with files only are used, once cleaned.
    expect(7 - fresh.length).toBe(2);
    const expected = await seen(fresh[0]!);
    expect(expected).not.toMatch(/leak|MERGE_HEAD|refs\/worktree|^S /m);
    for (const t of tasks) expect(await seen(t), t.task_id).toBe(expected);
    for (const t of tasks) {
      expect((await box.repo.git(['ls-tree', '--name-only', t.branch])).split('\n').sort()).toEqual(
        ['.gitignore', `agent-${t.task_id}.txt`, 'scratch.txt', `seen-${t.task_id}.txt`, 'src'],
      );
    }
  });

  it('a commit an agent made in a parked worktree is kept, not handed on or lost', async () => {
    await box.fresh();
    await box.run(plan([task('1'), task('2')]), WORK, { cleanUp: true });
    expect(await box.pooled()).toHaveLength(2);
    // Task 3 takes one; its agent commits in the other (its HEAD is detached there). The ledger
    // line is for the next run's check: until then, that worktree's HEAD holds the commit.
    const wander =
      `for d in ${POOL_FROM_AGENT}/*/; do echo lost > "$d/wander.txt" && git -C "$d" add wander.txt && ` +
      `${AGENT_GIT} -C "$d" commit -qm "made in the pool" && printf '{"commit":"%s","task":"3"}\\n' ` +
      '"$(git -C "$d" rev-parse HEAD)" >> "$LEDGER/later"; done';
    const second = await box.run(plan([task('3')]), `${WORK}; ${wander}`, { cleanUp: false });
    expect(second.state.status).toBe('completed');
    const later = await readFile(join(box.ledger.dir, 'later'), 'utf8');
    expect(later).toMatch(/"commit":"[0-9a-f]{40}"/);
    await writeFile(join(box.ledger.dir, 'later.jsonl'), later);

    const third = await box.run(plan([task('4')]), `${LOOK}; ${WORK}`, { cleanUp: false });
    expect(third.invariant.ok, third.invariant.text).toBe(true);
    expect(third.state.status).toBe('completed');
    const t = third.state.tasks['4']!;
    expect(await box.repo.git(['ls-tree', '--name-only', t.branch])).not.toMatch(/wander/);
    expect(await box.repo.git(['show', `${t.branch}:seen-4.txt`])).not.toMatch(/wander/);
    expect(await box.pooled()).toEqual([]);
    // Kept under the run's own refs, which the run's output names.
    const kept = await box.repo.git([
      'for-each-ref',
      '--format=%(refname) %(subject)',
      'refs/parallel-executor/',
    ]);
    const ref = new RegExp(
      `^(refs/parallel-executor/${third.state.execution_id}/pool/[0-9a-f]+) made in the pool$`,
      'm',
    ).exec(kept)?.[1];
    expect(ref, kept).toBeDefined();
    // And named where the user looks: the task whose take found it says where it is.
    expect(t.warnings?.join('\n')).toContain(`kept at ${ref}`);
  });

  it('a parked worktree a process has gone into since is neither handed on nor removed', async () => {
    await box.fresh();
    await box.run(plan([task('1'), task('2')]), WORK, { cleanUp: true });
    const parked = await Promise.all(
      (await box.pooled()).map((name) => adminOf(join(poolDirIn(box.repo), name))),
    );
    // Task 3 takes one; while it runs, a watcher goes into the other (no open file, just its
    // folder), started by no agent: only the pool's look in /proc can find it.
    const launcher = outsideLauncher(box.ledger.dir);
    const watcher = outsideProcessIn(`$(cd ${POOL_FROM_AGENT}/*/ && pwd)`);
    await box.run(plan([task('3')]), `${WORK}; ${watcher}`, { cleanUp: false });
    try {
      const third = await box.run(plan([task('4')]), `${LOOK}; ${WORK}`, { cleanUp: false });
      expect(third.invariant.ok, third.invariant.text).toBe(true);
      expect(third.state.status).toBe('completed');
      expect(parked).not.toContain(await adminOf(third.state.tasks['4']!.worktree));
      // Not removed under it either: left in the pool for a run after.
      expect(await box.pooled()).toHaveLength(1);
    } finally {
      launcher.stop();
    }
  });

  it('a parked worktree the user locked is neither handed on nor removed', async () => {
    await box.fresh();
    await box.run(plan([task('1')]), WORK, { cleanUp: true });
    const [name] = await box.pooled();
    const kept = join(poolDirIn(box.repo), name!);
    await box.repo.git(['worktree', 'lock', '--reason', 'mine now', kept]);
    const second = await box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    expect(second.state.tasks['2']!.worktree).not.toBe(kept);
    // Nor when the pool is turned off.
    await box.clean(second, 0);
    expect(await box.repo.git(['worktree', 'list', '--porcelain'])).toMatch(
      new RegExp(`worktree ${kept}\\n(.+\\n)*locked mine now`),
    );
  });

  it('permissions git does not keep (a read-only folder or file) do not reach the next task', async () => {
    await box.fresh();
    // Git keeps a file's executable bit only: these survive its checkout and clean.
    const chmods =
      'mkdir -p docs && echo d > docs/d.md && git add docs && ' +
      `${AGENT_GIT} commit -qm docs && ${LEDGER_COMMIT}; chmod 555 src; chmod 600 .gitignore; chmod 700 docs`;
    const first = await box.run(plan([task('1')]), `${WORK}; ${chmods}`, { cleanUp: true });
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(first.cleaned).toMatch(
      /it holds what git does not see \(\.gitignore \(mode 600\), docs \(mode 700\), src \(mode 555\)\)/,
    );
    const look = `${LOOK}; stat -c "%a %n" . src src/a.ts .gitignore >> "seen-$PE_TASK_ID.txt"`;
    const second = await box.run(plan([task('2'), task('3')]), `${look}; ${WORK}`, {
      cleanUp: false,
    });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    const [a, b] = await Promise.all([
      seen(second.state.tasks['2']!),
      seen(second.state.tasks['3']!),
    ]);
    expect(a).toBe(b);
    expect(a).toMatch(/^755 src$/m);
  });

  it('a FIFO an agent leaves (git and its clean do not see it) keeps its worktree out of the pool', async () => {
    await box.fresh();
    const first = await box.run(plan([task('1')]), `${WORK}; mkfifo src/pipe`, {
      cleanUp: true,
    });
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(first.state.status).toBe('completed');
    expect(await box.pooled(), first.cleaned).toEqual([]);
    expect(first.cleaned).toMatch(
      /not kept ready for the next run: it holds what git does not see \(src\/pipe\)/,
    );
  });

  it('a pool folder an agent made a symlink to a folder outside is neither filled nor emptied', async () => {
    await box.fresh();
    await mkdir(join(box.outside.dir, 'notes'));
    await writeFile(join(box.outside.dir, 'notes', 'todo.txt'), 'mine\n');
    await writeFile(join(box.outside.dir, 'b.txt'), 'mine too\n');
    const redirect = `mkdir -p ${POOL_FROM_AGENT} && rm -rf ${POOL_FROM_AGENT} && ln -s "${box.outside.dir}" ${POOL_FROM_AGENT}`;
    const first = await box.run(
      plan([task('1'), task('2', { dependsOn: ['1'] })]),
      `${WORK}; if [ "$PE_TASK_ID" = 1 ]; then ${redirect}; fi`,
      { cleanUp: true },
    );
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect(first.state.status).toBe('completed');
    // Clean-up parked nothing in the folder outside (and removed the worktrees as without a pool).
    const outsideNames = async () => (await import('node:fs/promises')).readdir(box.outside.dir);
    expect((await outsideNames()).sort(), first.cleaned).toEqual(['b.txt', 'notes']);

    const second = await box.run(plan([task('3')]), `${LOOK}; ${WORK}`, { cleanUp: true });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    expect(second.state.status).toBe('completed');
    const cleaned = await box.clean(second, 0);
    expect(cleaned.errors).toBe(0);
    expect((await outsideNames()).sort()).toEqual(['b.txt', 'notes']);
    expect(await readFile(join(box.outside.dir, 'notes', 'todo.txt'), 'utf8')).toBe('mine\n');
  });

  it("a symlink planted in the pool to the user's own worktree neither moves nor empties it", async () => {
    await box.fresh();
    // The user's worktree, with work not committed yet.
    const mine = join(box.outside.dir, 'mine');
    await box.repo.git(['worktree', 'add', '-q', '-b', 'mine', mine]);
    await writeFile(join(mine, 'src', 'a.ts'), 'export const a = 2;\n');
    await writeFile(join(mine, 'notes.txt'), 'not committed\n');
    const plant = `mkdir -p ${POOL_FROM_AGENT} && ln -s "${mine}" ${POOL_FROM_AGENT}/0000`;
    const first = await box.run(plan([task('1')]), `${WORK}; ${plant}`, { cleanUp: true });
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    expect((await lstat(join(poolDirIn(box.repo), '0000'))).isSymbolicLink()).toBe(true);

    const second = await box.run(plan([task('2')]), `${LOOK}; ${WORK}`, { cleanUp: false });
    expect(second.invariant.ok, second.invariant.text).toBe(true);
    expect(second.state.status).toBe('completed');
    expect(second.state.tasks['2']!.worktree).not.toBe(mine);
    // With the pool at 0, clean-up empties the pool: the link at most, never what it points to.
    await box.clean(second, 0);
    expect(existsSync(mine)).toBe(true);
    expect(await box.repo.git(['symbolic-ref', '--short', 'HEAD'], mine)).toBe('mine');
    expect(await readFile(join(mine, 'src', 'a.ts'), 'utf8')).toBe('export const a = 2;\n');
    expect(await readFile(join(mine, 'notes.txt'), 'utf8')).toBe('not committed\n');
  });

  it("a worktree whose .git file names the user's worktree's admin folder is not parked through it", async () => {
    await box.fresh();
    const first = await box.run(plan([task('1')]), WORK, { cleanUp: false });
    expect(first.invariant.ok, first.invariant.text).toBe(true);
    // The user's worktree, a change staged; then the task's `.git` file is pointed at its admin
    // folder (a daemon the agent left, after the collection: the collection follows such a file
    // too, which is not the pool's to guard).
    const mine = join(box.outside.dir, 'mine');
    await box.repo.git(['worktree', 'add', '-q', '-b', 'mine', mine]);
    await writeFile(join(mine, 'src', 'a.ts'), 'export const a = 2;\n');
    await box.repo.git(['add', 'src/a.ts'], mine);
    await writeFile(
      join(first.state.tasks['1']!.worktree, '.git'),
      `gitdir: ${await adminOf(mine)}\n`,
    );
    // Parking it ran git with the user's worktree's admin folder: its branch checked out no
    // more, its staged change unstaged.
    await box.clean(first, POOL);
    expect(await box.pooled()).toEqual([]);
    expect(await box.repo.git(['symbolic-ref', '--short', 'HEAD'], mine)).toBe('mine');
    expect(await box.repo.git(['diff', '--cached', '--name-only'], mine)).toBe('src/a.ts');
  });

  it('a daemon in a worktree reached through a symlinked worktree root keeps it out of the pool', async () => {
    await box.fresh();
    await mkdir(join(box.outside.dir, 'disk'));
    await symlink(join(box.outside.dir, 'disk'), join(box.outside.dir, 'worktrees'));
    // A process in the worktree as the agent names it (through the symlink): /proc shows its
    // working folder as the real path, not the configured one.
    const launcher = outsideLauncher(box.ledger.dir);
    const daemon = outsideProcessIn('$PWD');
    const first = await runPooled(box.repo, box.ledger, plan([task('1')]), `${WORK}; ${daemon}`, {
      cleanUp: true,
      pool: POOL,
      worktreeRoot: join(box.outside.dir, 'worktrees'),
    });
    try {
      expect(first.invariant.ok, first.invariant.text).toBe(true);
      expect(first.state.status).toBe('completed');
      expect(first.cleaned).toMatch(/not kept ready for the next run: processes still use it/);
      expect(await readdir(join(box.outside.dir, 'disk', POOL_DIR)).catch(() => [])).toEqual([]);
    } finally {
      launcher.stop();
    }
  });
});
