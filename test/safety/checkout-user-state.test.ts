import { execFileSync } from 'node:child_process';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../cli-run/helpers.js';
import { plan, runPlan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

/** A new user's checkout, with the local state real checkouts have, and what a run says of it. */

/** The main checkout, from inside an agent's worktree. */
const MAIN = 'main_dir="$(git rev-parse --path-format=absolute --git-common-dir)/.."';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({
    files: { '.gitignore': 'node_modules/\n.env\n', 'README.md': 'x\n' },
  });
});
afterEach(async () => {
  await repo.cleanup();
});

describe("a user's ignored files during a run", () => {
  it('an agent that edits the untracked .env.local the tool copies (and excludes) is named, and warned about', async () => {
    await repo.write('.env.local', 'TOKEN=mine\n');
    const agent = `${MAIN}; echo STOLEN=1 >> "$main_dir/.env.local"; echo a > a.txt`;
    const { state } = await runPlan(repo.dir, plan([task('a')]), agent);

    // The tool's own exclusion made it ignored before the run's first look: an edit is still seen.
    expect(await repo.git(['check-ignore', '.env.local'])).toBe('.env.local');
    expect(state.checkout_changes).toEqual([
      '.env.local was modified in your checkout (it is ignored by git) — probably by task a (task a was the only task running when it happened)',
    ]);
    expect(state.tasks['a']!.status).toBe('completed');
    expect(state.tasks['a']!.warnings?.join('\n')).toContain('.env.local was modified');
  });

  it('an ignored .env and an ignored folder the agents leave alone are not named; one edited is', async () => {
    await repo.write('.env', 'TOKEN=mine\n');
    await repo.write('node_modules/x/index.js', 'x\n');
    const quiet = await runPlan(repo.dir, plan([task('a')]), 'echo a > a.txt');
    expect(quiet.state.checkout_changes).toEqual([]);

    const agent = `${MAIN}; printf 'TOKEN=theirs\\n' > "$main_dir/.env"; echo b > b.txt`;
    const { state } = await runPlan(repo.dir, plan([task('b')]), agent);
    expect(state.checkout_changes?.join('\n')).toMatch(
      /^\.env was modified in your checkout \(it is ignored by git\) — probably by task b/,
    );
    expect(await readFile(join(repo.dir, '.env'), 'utf8')).toBe('TOKEN=theirs\n');
  });
});

describe("a user's ignored .claude folder during a run", () => {
  it('an edit or a removal inside it is named, though git lists the folder alone', async () => {
    await repo.write('.claude/settings.local.json', '{}\n');
    await repo.write('.claude/notes.md', 'mine\n');
    await repo.write('.git/info/exclude', '.claude/\n');
    const agent = [
      MAIN,
      'echo \'{"permissions":"all"}\' > "$main_dir/.claude/settings.local.json"',
      'rm "$main_dir/.claude/notes.md"',
      'echo a > a.txt',
    ].join('; ');
    const { state } = await runPlan(repo.dir, plan([task('a')]), agent);
    const why = 'probably by task a (task a was the only task running when it happened)';
    expect(state.checkout_changes).toEqual([
      `.claude/notes.md is gone from your checkout (it is ignored by git) — ${why}`,
      `.claude/settings.local.json was modified in your checkout (it is ignored by git) — ${why}`,
    ]);
  });
});

describe("a user's git hooks during a run", () => {
  it('a hook an agent installs for the whole repository (pre-commit install, a postinstall) is named, and so is a hook of the user it changes', async () => {
    await repo.write('.git/hooks/pre-push', '#!/bin/sh\necho mine\n');
    const install = [
      'hooks="$(git rev-parse --path-format=absolute --git-common-dir)/hooks"',
      'printf "#!/bin/sh\\nnpx lint-staged\\n" > "$hooks/pre-commit"',
      'echo changed >> "$hooks/pre-push"',
      'echo a > a.txt',
    ].join('; ');
    const { state } = await runPlan(repo.dir, plan([task('a')]), install);

    const hooks = join(repo.dir, '.git', 'hooks');
    expect(state.checkout_changes).toEqual([
      `the git hook pre-commit (${join(hooks, 'pre-commit')}) was added: git runs it in your checkout from now on — probably by task a (task a was the only task running when it happened)`,
      `the git hook pre-push (${join(hooks, 'pre-push')}) was changed — probably by task a (task a was the only task running when it happened)`,
    ]);
    expect(state.tasks['a']!.warnings).toHaveLength(2);
  });
});

describe("a stale index.lock in the user's checkout", () => {
  it('one an agent leaves (its git killed, or a touch) is named: the next git commit there would refuse to run', async () => {
    const agent =
      'touch "$(git rev-parse --path-format=absolute --git-common-dir)/index.lock"; echo a > a.txt';
    const { state } = await runPlan(repo.dir, plan([task('a')]), agent);

    const lock = join(repo.dir, '.git', 'index.lock');
    expect(state.checkout_changes).toEqual([
      `${lock} was left in your checkout: git commit, add, checkout and merge there refuse to run until it is removed (remove it once no git is running) — probably by task a (task a was the only task running when it happened)`,
    ]);
    expect(state.tasks['a']).toMatchObject({ status: 'completed' });
    expect(state.tasks['a']!.warnings?.join('\n')).toContain(lock);
  });

  it('one there before the run is not named', async () => {
    await repo.write('.git/index.lock', '');
    const { state } = await runPlan(repo.dir, plan([task('a')]), 'echo a > a.txt');
    expect(state.checkout_changes).toEqual([]);
  });
});

describe('a FIFO an agent puts where the watch reads', () => {
  it('in .git/hooks and in a worktree admin folder: the run ends, and the hook is named', async () => {
    const install = [
      'common="$(git rev-parse --path-format=absolute --git-common-dir)"',
      'mkfifo "$common/hooks/post-merge"',
      'mkdir -p "$common/worktrees/fake" && mkfifo "$common/worktrees/fake/gitdir" "$common/worktrees/fake/HEAD"',
      'echo a > a.txt',
    ].join('; ');
    const { state } = await runPlan(repo.dir, plan([task('a')]), install);
    expect(state.tasks['a']!.status).toBe('completed');
    expect(state.checkout_changes?.join('\n')).toContain('the git hook post-merge');
  }, 20_000);
});

describe('replace refs during a run', () => {
  it('an agent that replaces the commit your checkout has out with its own (git replace) is named, and its commit fails its task', async () => {
    const main = await repo.git(['rev-parse', 'HEAD']);
    const agent =
      'echo a > a.txt && git add a.txt && git commit -qm a && git replace "$(git rev-parse main)" HEAD';
    const { state } = await runPlan(repo.dir, plan([task('a')]), agent);

    // The user's own git follows it (the tool's does not): their clean checkout shows a.txt deleted.
    const status = execFileSync('git', ['status', '--porcelain'], {
      cwd: repo.dir,
      encoding: 'utf8',
    });
    expect(status).toBe('D  a.txt\n');
    const replacement = await repo.git(['rev-parse', `refs/replace/${main}`]);
    const named = `a replace ref changed what your git shows: it now shows ${replacement.slice(0, 12)} in place of ${main.slice(0, 12)}`;
    expect(state.checkout_changes).toHaveLength(1);
    expect(state.checkout_changes![0]).toContain(named);
    expect(state.checkout_changes![0]).toMatch(
      /by task a \(commit \w+ on it was made by task a\)$/,
    );
    expect(state.tasks['a']).toMatchObject({ status: 'failed' });
    expect(state.tasks['a']!.reason).toContain(named);
  });
});

describe('resume --retry-failed after a run that wrote back', () => {
  it('the first run’s integration branch and its plan statuses (working-tree) are the tool’s own, not changes', async () => {
    await repo.write('MULTI_AGENT_PLAN.md', PLAN);
    await repo.git(['add', 'MULTI_AGENT_PLAN.md']);
    await repo.git(['commit', '-qm', 'plan']);
    const fixed = join(repo.dir, '..', `${basename(repo.dir)}-fixed`);
    const agent = `if [ "$PE_TASK_ID" = 1.2 ] && [ ! -e "${fixed}" ]; then exit 3; fi; echo w > "w-$PE_TASK_ID.txt"`;
    const args = ['--agent-command', agent, '--write-back', 'working-tree', '--json'];

    const first = await cli(['run', ...args], repo.dir);
    expect(first.code, first.stderr).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ checkoutChanges: [] });
    // The tool's own doing: the plan's statuses, and the integration branch of what passed.
    expect(await repo.git(['status', '--porcelain'])).toBe(' M MULTI_AGENT_PLAN.md');
    const earlier = JSON.parse(first.stdout).integration.branch as string;

    await writeFile(fixed, '');
    const resumed = await cli(
      ['resume', '--retry-failed', ...args.slice(0, 2), '--json'],
      repo.dir,
    );
    await rm(fixed, { force: true });
    expect(resumed.code, resumed.stderr).toBe(0);
    const doc = JSON.parse(resumed.stdout) as {
      checkoutChanges: string[];
      integration: { branch: string };
    };
    expect(doc.integration.branch).not.toBe(earlier);
    // Set aside, then deleted by the clean-up once the new one held all it merged: the tool's
    // own doing, not a change to the checkout.
    expect(await repo.git(['branch', '--list', earlier])).toBe('');
    expect(doc.checkoutChanges).toEqual([]);
  });
});

const PLAN = `# Plan

### Parallel Group 1: Work
**Dependencies**: None

- [ ] Task 1.1: First thing (Agent: Builder-1, Est: 1h)
- [ ] Task 1.2: Second thing (Agent: Builder-2, Est: 1h)
`;

describe('an integration that stops half way', () => {
  it('its branch, left at its last complete merge, is the tool’s own, not a change to your checkout, then or after resume', async () => {
    // The setup command fails in the integration's worktree only, until `fixed` exists.
    const fixed = join(repo.dir, '..', `${basename(repo.dir)}-fixed`);
    await repo.write(
      '.github/parallel-executor.yml',
      `workspace:\n  setup: case "$(basename "$PWD")" in integration-*) test -e "${fixed}";; esac\n`,
    );
    await repo.write('MULTI_AGENT_PLAN.md', PLAN);
    await repo.git(['add', '-A']);
    await repo.git(['commit', '-qm', 'plan']);
    const agent = ['--agent-command', 'echo w > "w-$PE_TASK_ID.txt"'];
    const result = await cli(['run', ...agent, '--json'], repo.dir);
    expect(result.code, result.stderr).toBe(1);
    const doc = JSON.parse(result.stdout) as { errors: string[]; checkoutChanges: string[] };
    const branch = /the integration branch (\S+) was left/.exec(doc.errors.join('\n'))?.[1];
    expect(branch, doc.errors.join('\n')).toBeDefined();
    expect(await repo.git(['rev-parse', '--verify', '-q', branch!])).toMatch(/^[0-9a-f]{40}$/);
    expect(doc.checkoutChanges).toEqual([]);

    await writeFile(fixed, '');
    const resumed = await cli(['resume', ...agent, '--json'], repo.dir);
    await rm(fixed, { force: true });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ checkoutChanges: [] });
  });
});

describe("the user's own worktrees", () => {
  it('one moved without git worktree move keeps its admin folder (its staged changes, `git worktree repair`) through a run and its clean-up', async () => {
    await repo.write('MULTI_AGENT_PLAN.md', PLAN);
    await repo.git(['add', '-A']);
    await repo.git(['commit', '-qm', 'plan']);
    const other = `${repo.dir}-other`;
    const moved = `${repo.dir}-moved`;
    await repo.git(['worktree', 'add', '-q', '-b', 'other', other]);
    await writeFile(join(other, 'staged.txt'), 'mine\n');
    await repo.git(['-C', other, 'add', 'staged.txt']);
    await rename(other, moved);
    try {
      const result = await cli(
        ['run', '--agent-command', 'echo w > "w-$PE_TASK_ID.txt"', '--json'],
        repo.dir,
      );
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ cleanup: expect.anything() });
      // The run's own worktrees are gone, admin folders included; the user's is where it was.
      const admins = await readdir(join(repo.dir, '.git', 'worktrees'));
      expect(admins).toEqual([basename(other)]);
      await repo.git(['worktree', 'repair', moved]);
      expect(await repo.git(['-C', moved, 'status', '--porcelain'])).toBe('A  staged.txt');
    } finally {
      await rm(moved, { recursive: true, force: true });
    }
  });
});

describe("the user's own worktrees, touched by an agent", () => {
  it('one removed and one switched to a detached HEAD are named', async () => {
    const gone = `${repo.dir}-gone`;
    const moved = `${repo.dir}-switched`;
    await repo.git(['worktree', 'add', '-q', '-b', 'gone', gone]);
    await repo.git(['worktree', 'add', '-q', '-b', 'switched', moved]);
    const agent = [
      MAIN,
      `git -C "$main_dir" worktree remove --force "${gone}"`,
      `git -C "${moved}" checkout -q --detach`,
      'echo a > a.txt',
    ].join('; ');
    try {
      const { state } = await runPlan(repo.dir, plan([task('a')]), agent);
      const head = (await repo.git(['rev-parse', 'HEAD'])).slice(0, 12);
      const why = 'probably by task a (task a was the only task running when it happened)';
      expect(state.checkout_changes).toEqual([
        `your worktree ${gone} (branch gone out) was removed: git no longer knows it, and what it held uncommitted may be gone — ${why}`,
        `your worktree ${moved} now has a detached HEAD at ${head} out (it had branch switched) — ${why}`,
      ]);
    } finally {
      await rm(gone, { recursive: true, force: true });
      await rm(moved, { recursive: true, force: true });
    }
  });
});
