/**
 * Messy agents against collection (inspect, reattach, collect) on real worktrees: whatever the
 * agent did to git's index, HEAD or config, its work ends on the branch or the task is refused;
 * never "unchanged" with work left behind, never the tool's files committed.
 */
import { execFileSync } from 'node:child_process';
import {
  chmod,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CollectResult } from '../../src/engine/collect/collect.js';
import { excludeFromGit } from '../../src/engine/workspace/repo.js';
import { addWorktree } from '../../src/engine/workspace/worktree.js';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  AGENT_GIT,
  collectLikeTask,
  directInput,
  isolateGitConfig,
  LEDGER_COMMIT,
  runWithLedger,
} from './collect-support.js';

const BRANCH = 'pe/task-a';
const TOOL = ['AGENT_CONTEXT.md', 'TASK_SUMMARY.md'];

let repo: TempRepo;
let worktree: string;
let start: string;

isolateGitConfig();

beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      'README.md': '# r\n',
      'src/a.txt': 'a\n',
      'run.sh': 'echo hi\n',
      'Name.txt': 'n\n',
      // The project's own: the agent writes its summary over it.
      'TASK_SUMMARY.md': 'theirs\n',
    },
  });
  start = await repo.git(['rev-parse', 'HEAD']);
  worktree = join(repo.dir, '.wt', 'a');
  await addWorktree(repo.dir, worktree, BRANCH, start);
  await excludeFromGit(repo.dir, TOOL);
  await writeFile(join(worktree, 'AGENT_CONTEXT.md'), '# context\n');
});
afterEach(() => repo?.cleanup());

/** A test's own repository instead of the shared one, which is removed (not left in the temp dir). */
async function replaceRepo(options: Parameters<typeof createTempRepo>[0]): Promise<TempRepo> {
  await repo.cleanup();
  return createTempRepo(options);
}

function agent(args: readonly string[]): Promise<string> {
  return repo.git(args, worktree);
}

/** What task.ts does once the agent has ended; a string when inspection or reattaching refused. */
function collectAll(): Promise<CollectResult | string> {
  return collectLikeTask(BRANCH, directInput(repo, worktree, start));
}

function collected(result: CollectResult | string): CollectResult {
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
}

/** `git ls-tree` of the branch: `<mode> <path>` per entry. */
async function branchTree(): Promise<string[]> {
  const out = await repo.git(['ls-tree', '-r', '--format=%(objectmode) %(path)', BRANCH]);
  return out.split('\n').filter(Boolean);
}

describe('collection against messy agents', () => {
  it('git add -A then git reset: the edit and the new file are committed', async () => {
    await writeFile(join(worktree, 'src/a.txt'), 'edited\n');
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    await agent(['add', '-A']);
    await agent(['reset', '-q']);
    const result = collected(await collectAll());
    expect(result.metrics.files_changed.sort()).toEqual(['new.txt', 'src/a.txt']);
    expect(await repo.git(['show', `${BRANCH}:src/a.txt`])).toBe('edited');
  });

  it('only a mode change (chmod +x), and a symlink swapped for a file of the same text', async () => {
    await chmod(join(worktree, 'run.sh'), 0o755);
    await rm(join(worktree, 'README.md'));
    await symlink('src/a.txt', join(worktree, 'README.md'));
    collected(await collectAll());
    const tree = await branchTree();
    expect(tree).toContain('100755 run.sh');
    expect(tree).toContain('120000 README.md');
  });

  it('git add -N (intent to add) of a new file', async () => {
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    await agent(['add', '-N', 'new.txt']);
    collected(await collectAll());
    expect(await repo.git(['show', `${BRANCH}:new.txt`])).toBe('new');
  });

  it('git rm --cached, and a case-only rename left unstaged', async () => {
    await agent(['rm', '-q', '--cached', 'src/a.txt']);
    await rename(join(worktree, 'Name.txt'), join(worktree, 'name.txt'));
    collected(await collectAll());
    const tree = await branchTree();
    expect(tree).toContain('100644 src/a.txt');
    expect(tree).toContain('100644 name.txt');
    expect(tree).not.toContain('100644 Name.txt');
  });

  it('a .gitignore that un-ignores the tool file: the rest is committed, the tool file is not', async () => {
    await writeFile(join(worktree, '.gitignore'), '!AGENT_CONTEXT.md\n');
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    collected(await collectAll());
    const tree = await branchTree();
    expect(tree).toContain('100644 new.txt');
    expect(tree).not.toContain('100644 AGENT_CONTEXT.md');
  });

  it('git checkout <start> -- . after committing: the commit stays reachable on the branch', async () => {
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    await agent(['add', 'new.txt']);
    await agent(['commit', '-qm', 'work']);
    const work = await agent(['rev-parse', 'HEAD']);
    await agent(['checkout', start, '--', '.']);
    await rm(join(worktree, 'new.txt'));
    collected(await collectAll());
    expect(await repo.git(['merge-base', '--is-ancestor', work, BRANCH]).then(() => true)).toBe(
      true,
    );
  });

  for (const flag of ['--assume-unchanged', '--skip-worktree']) {
    it(`git update-index ${flag}, then an edit and a deletion: refused, naming both`, async () => {
      await agent(['update-index', flag, 'src/a.txt', 'run.sh', 'Name.txt']);
      await writeFile(join(worktree, 'src/a.txt'), 'edited\n');
      await rm(join(worktree, 'run.sh'));
      const result = await collectAll();
      if (flag === '--skip-worktree') {
        // A skip-worktree file that is gone is a sparse checkout's: only the edit is named.
        expect(result).toMatch(/the agent hid changes from git in its worktree .*: src\/a\.txt \(/);
      } else {
        expect(result).toMatch(/the agent hid changes from git .*: run\.sh, src\/a\.txt \(/);
      }
      expect(await repo.git(['rev-parse', BRANCH])).toBe(start);
    });
  }

  it('marked but unchanged, a marked tool file the agent wrote, a sparse checkout: nothing to refuse', async () => {
    await agent(['update-index', '--assume-unchanged', 'Name.txt', 'TASK_SUMMARY.md']);
    await writeFile(join(worktree, 'TASK_SUMMARY.md'), '# what I did\n');
    await agent(['update-index', '--skip-worktree', 'src/a.txt']);
    await rm(join(worktree, 'src/a.txt'));
    const result = collected(await collectAll());
    expect(result.headSha).toBe(start);
  });

  it('git replace of the start commit by its own work, then reset --soft to the start: committed', async () => {
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    await agent(['add', 'new.txt']);
    await agent(['commit', '-qm', 'work']);
    await agent(['replace', start, 'HEAD']);
    await agent(['reset', '-q', '--soft', start]);
    // The start now reads as the work: the index would look like HEAD to a git that follows it.
    const result = collected(await collectAll());
    expect(result.committedLeftovers).toBe(true);
    expect(result.metrics.files_changed).toEqual(['new.txt']);
    expect(await repo.git(['--no-replace-objects', 'show', `${BRANCH}:new.txt`])).toBe('new');
  });

  it('conflict markers in a file whose name ends in a newline and the name of a tool file', async () => {
    await writeFile(
      join(worktree, 'x\nAGENT_CONTEXT.md'),
      '<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n',
    );
    expect(await collectAll()).toMatch(/^conflict markers .*: x\nAGENT_CONTEXT\.md;/);
    expect(await repo.git(['rev-parse', BRANCH])).toBe(start);
  });

  it('a file edited to the same size, its mtime put back: not judged unchanged', async () => {
    const file = join(worktree, 'src/a.txt');
    const { mtime } = await stat(file);
    await writeFile(file, 'b\n');
    await utimes(file, mtime, mtime);
    collected(await collectAll());
    expect(await repo.git(['show', `${BRANCH}:src/a.txt`])).toBe('b');
  });

  it('an index.lock left behind: refused with the lock named when there is work, ignored when none', async () => {
    const lock = await agent(['rev-parse', '--path-format=absolute', '--git-path', 'index.lock']);
    await writeFile(lock, '');
    expect(collected(await collectAll()).headSha).toBe(start);
    await writeFile(join(worktree, 'new.txt'), 'new\n');
    const refused = await collectAll();
    expect(refused).toMatch(/^git's index in the worktree .* is locked \(.*index\.lock exists/);
    expect(refused).toContain(`remove ${lock}`);
  });

  it('names that look like ls-files tags: an edit committed, markers found, none taken as flagged', async () => {
    for (const name of ['h x', 'S y', 'M z']) {
      await writeFile(join(worktree, name), 'one\n');
    }
    await agent(['add', '.']);
    await agent(['commit', '-qm', 'tag-like names']);
    await writeFile(join(worktree, 'h x'), 'two\n');
    expect(collected(await collectAll()).metrics.files_changed.sort()).toEqual([
      'M z',
      'S y',
      'h x',
    ]);
    expect(await repo.git(['show', `${BRANCH}:h x`])).toBe('two');
    await writeFile(join(worktree, 'M z'), '<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n');
    await writeFile(join(worktree, 'C w'), '<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n');
    expect(await collectAll()).toMatch(/^conflict markers .*: C w, M z;/);
  });
});

describe('a whole run with an agent that hides an edit from git', () => {
  // --skip-worktree: chaos --extra behaviour hideEdits; the kept ref lacked the edit, and clean
  // --force then removed the worktree, the only place it was.
  it.each(['--assume-unchanged', '--skip-worktree'])(
    'git update-index %s: fails the task, keeps the worktree and the edit in the kept ref, never integrates it',
    async (flag) => {
      repo = await replaceRepo({ files: { 'config.txt': 'base\n', 'other.txt': 'o\n' } });
      const command =
        `echo mine > other.txt && ${AGENT_GIT} commit -qam other && ${LEDGER_COMMIT} && ` +
        `git update-index ${flag} config.txt && echo local > config.txt`;
      const run = await runWithLedger(repo, plan([task('1')]), command);
      const t = run.state.tasks['1']!;
      expect(t.status).toBe('failed');
      expect(t.reason).toMatch(/the agent hid changes from git .*: config\.txt \(/);
      expect(run.state.integration?.merged ?? []).toEqual([]);
      expect(await readFile(join(t.worktree, 'config.txt'), 'utf8')).toBe('local\n');
      expect(t.kept_refs?.length).toBeGreaterThan(0);
      expect(await repo.git(['show', `${t.kept_refs![0]!.ref}:config.txt`])).toBe('local');
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    },
  );
});

describe("an agent that overwrites its worktree's HEAD file", () => {
  it('fails the task saying which git folder is damaged, commits nothing, loses nothing', async () => {
    repo = await replaceRepo({ files: { 'src/a.txt': 'a\n' } });
    const command =
      `echo work > work.txt && git add work.txt && ${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && ` +
      'echo more > more.txt && echo garbage > "$(git rev-parse --git-dir)/HEAD"';
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    const admin = (await readFile(join(t.worktree, '.git'), 'utf8')).replace('gitdir: ', '').trim();
    expect(t.reason).toContain(
      `git no longer takes the worktree ${t.worktree} for a repository: its git folder ${admin} is damaged`,
    );
    expect(t.reason).toContain(`into ${admin}/HEAD`);
    expect(run.state.integration?.merged ?? []).toEqual([]);
    expect(await repo.git(['log', '-1', '--format=%s', t.branch])).toBe('work');
    expect(await readFile(join(t.worktree, 'more.txt'), 'utf8')).toBe('more\n');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});

describe("an agent that points its worktree's .git at the user's own worktree", () => {
  it('fails the task without running git there: the user keeps their branch and staged change', async () => {
    repo = await replaceRepo({ files: { 'src/a.txt': 'a\n' } });
    // The user's own linked worktree, on its branch, a change staged.
    const mine = join(repo.dir, '..', `${repo.dir.split('/').pop()}-mine`);
    await repo.git(['worktree', 'add', '-q', '-b', 'mine', mine]);
    await writeFile(join(mine, 'src', 'a.txt'), 'user\n');
    await repo.git(['add', 'src/a.txt'], mine);
    const admin = (await readFile(join(mine, '.git'), 'utf8')).trim();
    try {
      const command =
        `echo work > work.txt && git add work.txt && ${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && ` +
        `echo more > more.txt && printf '%s\\n' '${admin}' > .git`;
      const run = await runWithLedger(repo, plan([task('1')]), command);
      const t = run.state.tasks['1']!;
      expect(t.status).toBe('failed');
      expect(t.reason).toMatch(
        /is no longer a git worktree of its own .* no git command was run there/,
      );
      expect(run.state.integration?.merged ?? []).toEqual([]);
      // The user's worktree: still on its branch, its change still staged, nothing committed.
      expect(await repo.git(['symbolic-ref', '--short', 'HEAD'], mine)).toBe('mine');
      expect(await repo.git(['diff', '--cached', '--name-only'], mine)).toBe('src/a.txt');
      expect(await repo.git(['log', '-1', '--format=%s', 'mine'])).not.toContain(
        'parallel-executor',
      );
      // What the agent committed is on its branch; what it left is in its folder.
      expect(await repo.git(['show', `${t.branch}:work.txt`])).toBe('work');
      expect(await readFile(join(t.worktree, 'more.txt'), 'utf8')).toBe('more\n');
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    } finally {
      await rm(mine, { recursive: true, force: true });
    }
  });
});

describe('commits the agent made and then left off its branch', () => {
  it.each([
    [
      'on a detached HEAD, then back on its branch',
      `git checkout -q --detach && echo mine > other.txt && ${AGENT_GIT} commit -qam side && ${LEDGER_COMMIT} && git checkout -q "$PE_BRANCH"`,
    ],
    [
      'then reset --hard to the start',
      `echo mine > other.txt && ${AGENT_GIT} commit -qam undone && ${LEDGER_COMMIT} && git reset -q --hard HEAD~1`,
    ],
    [
      'then amended',
      `echo mine > other.txt && ${AGENT_GIT} commit -qam first && ${LEDGER_COMMIT} && echo more >> other.txt && ${AGENT_GIT} commit -qa --amend -m second && ${LEDGER_COMMIT}`,
    ],
  ])('%s: kept under a ref the warning names, not merged', async (_, command) => {
    repo = await replaceRepo({ files: { 'other.txt': 'o\n' } });
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('completed');
    const left = (t.kept_refs ?? []).filter((kept) => kept.ref.includes('/left-'));
    expect(left).toHaveLength(1);
    expect(t.warnings?.join('\n')).toContain(`left off its branch`);
    expect(t.warnings?.join('\n')).toContain(left[0]!.ref);
    expect(await repo.git(['rev-parse', left[0]!.ref])).toBe(left[0]!.sha);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it('commits made one on another: nothing kept, no warning', async () => {
    repo = await replaceRepo({ files: { 'other.txt': 'o\n' } });
    const command =
      `echo a > a.txt && git add a.txt && ${AGENT_GIT} commit -qm a && ${LEDGER_COMMIT} && ` +
      `git stash list && echo b > b.txt && git add b.txt && ${AGENT_GIT} commit -qm b && ${LEDGER_COMMIT}`;
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('completed');
    expect(t.kept_refs ?? []).toEqual([]);
    expect(t.warnings ?? []).toEqual([]);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});

describe('a git commit that fails without a word', () => {
  it('is an error, never read as "nothing was staged" (the leftovers stay in the worktree)', async () => {
    // A git whose commit exits 1 silently, as a config-defined hook of a later git could make it.
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    const bin = await mkdtemp(join(tmpdir(), 'pe-fake-git-'));
    await writeFile(
      join(bin, 'git'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = commit ] && exit 1; done\nexec "${realGit}" "$@"\n`,
    );
    await chmod(join(bin, 'git'), 0o755);
    await writeFile(join(worktree, 'src/a.txt'), 'left uncommitted\n');
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    try {
      await expect(collectAll()).rejects.toThrow(/git commit failed silently/);
    } finally {
      process.env['PATH'] = path;
      await rm(bin, { recursive: true, force: true });
    }
    expect(await readFile(join(worktree, 'src/a.txt'), 'utf8')).toBe('left uncommitted\n');
    expect(await repo.git(['rev-parse', BRANCH])).toBe(start);
  });
});
