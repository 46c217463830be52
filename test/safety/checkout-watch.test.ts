import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchCheckout } from '../../src/engine/run/checkout-watch.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { ExecutionState, type TaskRun } from '../../src/engine/state/schema.js';
import { reportFixture, task as taskRun } from '../report/fixture.js';
import { scratch, type Scratch } from '../engine/helpers.js';
import { createTempRepo, GIT_ENV, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
let box: Scratch;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': 'x\n' } });
  box = await scratch();
});
afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

/** Two running tasks, each with a real worktree and branch from the base. */
async function twoTasks(): Promise<ExecutionState> {
  const base = await repo.git(['rev-parse', 'HEAD']);
  const tasks: Record<string, TaskRun> = {};
  for (const id of ['A', 'B']) {
    const worktree = join(box.dir, `wt-${id}`);
    await repo.git(['worktree', 'add', '-q', '-b', `agent/${id}`, worktree, base]);
    tasks[id] = taskRun(id, {
      status: 'in_progress',
      branch: `agent/${id}`,
      worktree,
      start_sha: base,
      head_sha: null,
    });
  }
  return ExecutionState.parse({
    ...reportFixture(),
    repo_root: repo.dir,
    base_sha: base,
    tasks,
    task_order: ['A', 'B'],
    integration: null,
  });
}

/** How many snapshots of the checkout git was asked for (each reads every ref once). */
async function looksIn(trace: string): Promise<number> {
  const text = await readFile(trace, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.includes('"event":"start"') && line.includes('%(*objectname)')).length;
}

/** A watch over two running tasks; the trace counts its looks. */
async function watching() {
  const state = await twoTasks();
  const trace = join(box.dir, 'trace.json');
  const watch = await watchCheckout({
    state,
    executionDir: box.dir,
    worktreeRoot: box.dir,
    env: { ...GIT_ENV, GIT_TRACE2_EVENT: trace },
  });
  // As the run does (setStatus): the state first, then the event.
  const status = (taskId: string, value: TaskRun['status']) => {
    state.tasks[taskId]!.status = value;
    watch.observe({ type: 'task-status', taskId, status: value } as never);
  };
  for (const id of ['A', 'B']) {
    status(id, 'preparing');
    status(id, 'in_progress');
  }
  /** Task B's agent commits on the user's branch from its worktree. */
  const intrude = async () => {
    const B = state.tasks['B']!.worktree;
    await repo.git(['-C', B, 'checkout', '-q', '--ignore-other-worktrees', 'main']);
    await repo.git(['-C', B, 'commit', '-q', '--allow-empty', '-m', 'intrude']);
    await repo.git(['-C', B, 'checkout', '-q', 'agent/B']);
  };
  const ended = (taskId: string) => status(taskId, 'collecting');
  return { state, trace, watch, intrude, ended, status };
}

describe('the checkout watch after agents end', () => {
  it('agents that end together share one look, and an intrusion is still put on its task', async () => {
    const { trace, watch, intrude, ended } = await watching();
    expect(await looksIn(trace)).toBe(1); // the snapshot at the start
    // Task B's agent commits on the user's branch from its worktree, then both agents end.
    await intrude();
    ended('A');
    const a = watch.afterAgent('A');
    ended('B');
    const b = watch.afterAgent('B');
    const [forA, forB] = await Promise.all([a, b]);
    expect(forA).toBeNull();
    expect(forB).toMatch(/it changed your checkout: .*branch main moved/);
    expect(await looksIn(trace)).toBe(2);
  });

  it('a task whose agent ended after the look started waits for a new one', async () => {
    const { trace, watch, intrude, ended } = await watching();
    ended('A');
    const a = watch.afterAgent('A');
    // A's look waits a moment for B's agent (still running) to end too; then it starts.
    while ((await looksIn(trace)) < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    // B's agent commits on the user's branch after A's look began, then ends.
    await intrude();
    ended('B');
    const forB = await watch.afterAgent('B');
    await a;
    expect(forB).toMatch(/it changed your checkout: .*branch main moved/);
    expect(await looksIn(trace)).toBe(3);
  });
});

describe('a look after agents that end close together', () => {
  it('waits a moment while other agents run, so that one ending just after shares it', async () => {
    const { trace, watch, intrude, ended } = await watching();
    // B's agent intrudes, then ends a few milliseconds after A's (started together, done together).
    await intrude();
    ended('A');
    const a = watch.afterAgent('A');
    await new Promise((resolve) => setTimeout(resolve, 5));
    ended('B');
    const forB = await watch.afterAgent('B');
    expect(await a).toBeNull();
    expect(forB).toMatch(/it changed your checkout: .*branch main moved/);
    // The start's, and one for both.
    expect(await looksIn(trace)).toBe(2);
  });
});

describe('a look after the last agents end', () => {
  it('waits for an agent that ended but has not asked yet, not only for running ones', async () => {
    // Both agents have ended (their status says so), B's own checks before its look come a moment
    // after A asked: no agent runs, yet B is on its way, and one look serves both.
    const { trace, watch, intrude, ended } = await watching();
    await intrude();
    ended('A');
    ended('B');
    const a = watch.afterAgent('A');
    await new Promise((resolve) => setImmediate(resolve));
    const forB = await watch.afterAgent('B');
    expect(await a).toBeNull();
    expect(forB).toMatch(/it changed your checkout: .*branch main moved/);
    expect(await looksIn(trace)).toBe(2);
  });
});

describe('the review at the end of the run', () => {
  it('goes by the look after the last agent when nothing of the run could write since', async () => {
    const { trace, watch, intrude, ended } = await watching();
    await intrude();
    ended('A');
    ended('B');
    await Promise.all([watch.afterAgent('A'), watch.afterAgent('B')]);
    const changes = await watch.review([], { nothingLeft: true });
    expect(await looksIn(trace)).toBe(2);
    expect(changes).toEqual([expect.stringMatching(/branch main moved/)]);
  });

  for (const [what, after] of [
    ['a validation ran after that look', { validating: true, nothingLeft: true, waitMs: 0 }],
    [
      'a process of the run was found still there',
      { validating: false, nothingLeft: false, waitMs: 0 },
    ],
    ['that look is no longer fresh', { validating: false, nothingLeft: true, waitMs: 400 }],
  ] as const) {
    it(`looks again when ${what}, and names what changed since`, async () => {
      const { trace, watch, ended, status } = await watching();
      ended('A');
      ended('B');
      await Promise.all([watch.afterAgent('A'), watch.afterAgent('B')]);
      if (after.validating) status('A', 'validating');
      await repo.write('README.md', 'changed after the look\n');
      if (after.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, after.waitMs));
      const changes = await watch.review([], { nothingLeft: after.nothingLeft });
      expect(await looksIn(trace)).toBe(3);
      expect(changes).toEqual([expect.stringContaining('README.md')]);
    });
  }
});

describe('what agents leave in the stash every worktree shares', () => {
  it("keeps an agent's stash entry, and the user's entry it dropped, under refs the change names", async () => {
    await repo.write('README.md', 'the user was here\n');
    await repo.git(['stash', 'push', '-q', '-m', 'user wip']);
    const users = await repo.git(['rev-parse', 'refs/stash']);
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    // B's agent commits, stashes a new file it staged, then drops the entry below its own.
    await repo.git(['-C', B, 'commit', '-q', '--allow-empty', '-m', 'work of B']);
    await writeFile(join(B, 'wip.txt'), 'only in the stash\n');
    await repo.git(['-C', B, 'add', 'wip.txt']);
    await repo.git(['-C', B, 'stash', 'push', '-q', '-m', 'B wip', '--', 'wip.txt']);
    await repo.git(['-C', B, 'stash', 'drop', '-q', 'stash@{1}']);
    const agents = await repo.git(['rev-parse', 'refs/stash']);
    ended('B');
    const reason = await watch.afterAgent('B');

    const prefix = `refs/parallel-executor/${state.execution_id}/checkout`;
    const kept = `${prefix}/stash-${agents.slice(0, 12)}`;
    const gone = `${prefix}/stash-gone-${users.slice(0, 12)}`;
    expect(reason).toContain(kept);
    expect(reason).toContain(gone);
    expect(await repo.git(['show', `${kept}:wip.txt`])).toBe('only in the stash');
    expect(await repo.git(['rev-parse', gone])).toBe(users);
    const sentences = await watch.review();
    expect(sentences.find((s) => s.startsWith('the stash changed'))).toContain(kept);
  });

  // chaos --extra seed 8037: another task's git reflog expire and gc --prune=now deleted the
  // user's entry before the watch looked again, so there was nothing left to keep.
  it("keeps the user's entry an agent dropped and pruned (reflog expire, gc --prune=now) before the watch looked", async () => {
    await repo.write('README.md', 'the user was here\n');
    await repo.git(['stash', 'push', '-q', '-m', 'user wip']);
    const users = await repo.git(['rev-parse', 'refs/stash']);
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    await repo.git(['-C', B, 'stash', 'drop', '-q']);
    await repo.git(['-C', B, 'reflog', 'expire', '--expire=now', '--all']);
    await repo.git(['-C', B, 'gc', '-q', '--prune=now']);
    ended('B');
    await watch.afterAgent('B');

    const gone = `refs/parallel-executor/${state.execution_id}/checkout/stash-gone-${users.slice(0, 12)}`;
    const sentences = await watch.review();
    expect(sentences.find((s) => s.startsWith('the stash changed'))).toContain(gone);
    expect(await repo.git(['rev-parse', gone])).toBe(users);
    expect(await repo.git(['show', `${gone}:README.md`])).toBe('the user was here');
  });
});

describe('an agent stash entry whose list another agent emptied', () => {
  // chaos --extra seed 40009: B stashed its edit (its pop then conflicted, the entry stayed), A
  // ran git reflog expire --expire=now --all: the stash's list (its reflog) was empty, refs/stash
  // still named B's entry, and the watch, reading the list, neither saw nor kept it.
  it('is kept, read from refs/stash itself', async () => {
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    await writeFile(join(B, 'wip.txt'), 'only in the stash\n');
    await repo.git(['-C', B, 'add', 'wip.txt']);
    await repo.git(['-C', B, 'stash', 'push', '-q', '-m', 'B wip', '--', 'wip.txt']);
    const entry = await repo.git(['rev-parse', 'refs/stash']);
    await repo.git(['-C', B, 'reflog', 'expire', '--expire=now', '--all']);
    expect(await repo.git(['stash', 'list'])).toBe('');
    ended('B');
    await watch.afterAgent('B');
    const kept = `refs/parallel-executor/${state.execution_id}/checkout/stash-${entry.slice(0, 12)}`;
    const sentences = await watch.review();
    expect(sentences.find((s) => s.startsWith('the stash changed'))).toContain(kept);
    expect(await repo.git(['show', `${kept}:wip.txt`])).toBe('only in the stash');
  });
});

describe("the user's stash entry whose list an agent emptied", () => {
  // chaos --extra seeds 50013, 50016: an agent's git reflog expire --expire=now --all left
  // refs/stash naming the user's entry, but git stash list shows nothing: to the user it is gone.
  it('is named as gone and kept, though refs/stash still names it', async () => {
    await repo.write('README.md', 'the user was here\n');
    await repo.git(['stash', 'push', '-q', '-m', 'user wip']);
    const users = await repo.git(['rev-parse', 'refs/stash']);
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    await repo.git(['-C', B, 'reflog', 'expire', '--expire=now', '--all']);
    expect(await repo.git(['stash', 'list'])).toBe('');
    ended('B');
    await watch.afterAgent('B');
    const gone = `refs/parallel-executor/${state.execution_id}/checkout/stash-gone-${users.slice(0, 12)}`;
    const sentences = await watch.review();
    const said = sentences.find((s) => s.startsWith('the stash changed'));
    expect(said).toContain('1 stash entry gone');
    expect(said).toContain(gone);
    expect(said).not.toContain('new stash entr');
    expect(await repo.git(['show', `${gone}:README.md`])).toBe('the user was here');
  });
});

describe("the user's branches an agent deletes", () => {
  // chaos --extra seed 10007: as for the stash, a gc ran before the watch looked again.
  it("keeps the user's branch an agent deleted and pruned before the watch looked", async () => {
    await repo.git(['checkout', '-q', '-b', 'feature']);
    await repo.write('feature.txt', 'only on feature\n');
    await repo.commit('feature work');
    const tip = await repo.git(['rev-parse', 'HEAD']);
    await repo.git(['checkout', '-q', 'main']);
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    await repo.git(['-C', B, 'branch', '-q', '-D', 'feature']);
    await repo.git(['-C', B, 'reflog', 'expire', '--expire=now', '--all']);
    await repo.git(['-C', B, 'gc', '-q', '--prune=now']);
    ended('B');
    await watch.afterAgent('B');

    const gone = `refs/parallel-executor/${state.execution_id}/checkout/ref-gone-${tip.slice(0, 12)}`;
    const sentences = await watch.review();
    expect(sentences.find((s) => s.startsWith('branch feature was deleted'))).toContain(gone);
    expect(await repo.git(['show', `${gone}:feature.txt`])).toBe('only on feature');
  });
});

describe('the tips held from the start', () => {
  it('holds every branch of a repository of 60,000 branches (more than one command may take)', async () => {
    // 60,000 branches, each at a commit of its own: as parents of one commit, 2.5 MB of arguments (Linux takes 2 MB at most).
    const count = 60_000;
    const stream = Array.from({ length: count }, (_, i) => {
      const message = `b${i}\n`;
      return `commit refs/heads/many/b${i}\ncommitter U <u@example.com> 1700000000 +0000\ndata ${message.length}\n${message}\n`;
    }).join('');
    await git(repo.dir, ['fast-import', '--quiet'], { input: stream, env: GIT_ENV });
    const { state } = await watching();
    const held = `refs/parallel-executor/${state.execution_id}/checkout/at-start`;
    const reachable = new Set(
      (await repo.git(['rev-list', held])).split('\n').filter((line) => line !== ''),
    );
    const tips = (await repo.git(['for-each-ref', '--format=%(objectname)', 'refs/heads/many']))
      .split('\n')
      .filter((line) => line !== '');
    expect(new Set(tips).size).toBe(count);
    expect(tips.filter((tip) => !reachable.has(tip))).toEqual([]);
  }, 120_000);
});

describe('a worktree an agent adds of its own', () => {
  it('is named, and kept with its commits and uncommitted files under a ref', async () => {
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    // `git worktree add ../own -b own` from B's worktree: it lands in the execution's folder.
    const own = join(box.dir, state.execution_id, 'own');
    await repo.git(['-C', B, 'worktree', 'add', '-q', '-b', 'own', own]);
    await writeFile(join(own, 'made.txt'), 'committed there\n');
    await repo.git(['-C', own, 'add', 'made.txt']);
    await repo.git(['-C', own, 'commit', '-q', '-m', 'in its own worktree']);
    const commit = await repo.git(['-C', own, 'rev-parse', 'HEAD']);
    await writeFile(join(own, 'left.txt'), 'left uncommitted there\n');
    ended('B');
    await watch.afterAgent('B');
    const sentences = await watch.review();

    const named = sentences.find((s) => s.startsWith(`a worktree was added at ${own}`));
    const ref = /kept at (refs\/parallel-executor\/\S+\/checkout\/worktree-[0-9a-f]{12})/.exec(
      named ?? '',
    )?.[1];
    expect(ref, sentences.join('\n')).toBeDefined();
    expect(await repo.git(['show', `${ref}:left.txt`])).toBe('left uncommitted there');
    await repo.git(['merge-base', '--is-ancestor', commit, ref!]);
    // The tasks' own worktrees are the tool's: not named.
    expect(sentences.some((s) => s.includes(B))).toBe(false);
  });
});

describe('branches an agent makes, moves or deletes in the repository', () => {
  it('keeps the commits a new branch brought, and those a moved or deleted branch took away, under refs the changes name', async () => {
    // The user's branches, one with a commit of its own.
    await repo.git(['branch', 'feature']);
    await repo.git(['checkout', '-q', 'feature']);
    await repo.git(['commit', '-q', '--allow-empty', '-m', 'the user on feature']);
    const users = await repo.git(['rev-parse', 'HEAD']);
    await repo.git(['checkout', '-q', 'main']);
    await repo.git(['branch', 'old-work', users]);
    const { state, watch, ended } = await watching();
    const B = state.tasks['B']!.worktree;
    // B's agent commits on a scratch branch it never leaves out (a worktree added and removed),
    // moves the user's feature back, and deletes old-work.
    const own = join(box.dir, 'scratch-wt');
    await repo.git(['-C', B, 'worktree', 'add', '-q', '-b', 'scratch', own]);
    await repo.git(['-C', own, 'commit', '-q', '--allow-empty', '-m', 'only on scratch']);
    const scratchTip = await repo.git(['-C', own, 'rev-parse', 'HEAD']);
    await repo.git(['-C', B, 'worktree', 'remove', own]);
    await repo.git(['-C', B, 'branch', '-f', 'feature', 'feature~1']);
    await repo.git(['-C', B, 'branch', '-D', 'old-work']);
    ended('B');
    await watch.afterAgent('B');
    const sentences = await watch.review();

    const prefix = `refs/parallel-executor/${state.execution_id}/checkout`;
    const created = sentences.find((s) => s.startsWith('branch scratch was created'));
    expect(created).toContain(`${prefix}/ref-${scratchTip.slice(0, 12)}`);
    expect(await repo.git(['rev-parse', `${prefix}/ref-${scratchTip.slice(0, 12)}`])).toBe(
      scratchTip,
    );
    const gone = `${prefix}/ref-gone-${users.slice(0, 12)}`;
    expect(sentences.find((s) => s.startsWith('branch feature moved'))).toContain(gone);
    expect(sentences.find((s) => s.startsWith('branch old-work was deleted'))).toContain(gone);
    expect(await repo.git(['rev-parse', gone])).toBe(users);
    // The user deletes the stray branch: the commit is still there, under the kept ref.
    await repo.git(['branch', '-D', 'scratch']);
    expect(
      await repo.git(['log', '-1', '--format=%s', `${prefix}/ref-${scratchTip.slice(0, 12)}`]),
    ).toBe('only on scratch');
  });
});
