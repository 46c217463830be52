import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { pathExists } from '../../src/engine/path-exists.js';
import { agentEnv, plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { AGENT_GIT, LEDGER_COMMIT, runChecked } from './collect-support.js';
import { killHard, readStateFile, spawnRun, waitFor } from './resume-support.js';

/**
 * An agent that removes its worktree's `.git` file (or writes garbage over it): git still has the
 * worktree's admin folder, and only through it can the folder's HEAD and uncommitted files be
 * read. Found by chaos --extra behaviour dotGitGone: the task failed and its folder stayed, but
 * no ref held what it left, and a commit on a detached HEAD was in the admin folder alone, which
 * clean prunes.
 */

let repo: TempRepo;
let ledger: Scratch;
afterEach(async () => {
  await repo?.cleanup();
  await ledger?.cleanup();
});

/** Commits on its branch, then on a detached HEAD, leaves a file, then `breakGit`. */
function agent(breakGit: string, exit = 0): string {
  return [
    `echo one > one.txt && git add one.txt && ${AGENT_GIT} commit -qm one && ${LEDGER_COMMIT}`,
    `git checkout -q --detach && echo two > two.txt && git add two.txt && ${AGENT_GIT} commit -qm two && ${LEDGER_COMMIT}`,
    'printf left > left.txt',
    `printf '{"uncommitted":"left.txt","content":"left","task":"%s"}\\n' "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"`,
    breakGit,
    `exit ${exit}`,
  ].join(' && ');
}

async function run(command: string, retries = 0) {
  repo = await createTempRepo();
  ledger = await scratch();
  const result = await runChecked(repo, ledger.dir, plan([task('1')]), command, {
    settings: { retries },
  });
  return { result, t: result.state.tasks['1']! };
}

describe("an agent that removes or garbles its worktree's .git file", () => {
  it.each([
    ['removes it', 'rm -f .git'],
    ['writes garbage over it', 'echo garbage > .git'],
  ])(
    '%s: its HEAD and files are kept under attempt-1, named, and clean --force keeps the folder',
    async (_, breakGit) => {
      const { result, t } = await run(agent(breakGit));
      expect(t.status).toBe('failed');
      const kept = t.kept_refs?.find((entry) => entry.ref.endsWith('/1/attempt-1'));
      expect(kept, JSON.stringify(t.kept_refs)).toBeDefined();
      expect(t.reason).toContain(`are kept at ${kept!.ref}`);
      // The detached commit and the file left uncommitted, both in the kept ref.
      for (const [file, text] of [
        ['one.txt', 'one'],
        ['two.txt', 'two'],
        ['left.txt', 'left'],
      ])
        expect(await repo.git(['show', `${kept!.ref}:${file}`])).toBe(text);
      expect(result.invariant.ok, result.invariant.text).toBe(true);

      const before = await repo.git(['status', '--porcelain']);
      const cleaned = await cleanupExecution(result.state, {
        repoRoot: repo.dir,
        executionDir: result.executionDir,
        env: agentEnv(),
        force: true,
      });
      const item = cleaned.items.find((i) => i.kind === 'worktree')!;
      expect(item.action, item.reason).toBe('kept');
      expect(item.reason).toContain('no longer a git worktree');
      expect(item.reason).toMatch(/its state is kept at refs\/parallel-executor\/.*\/1\/attempt-/);
      expect(await readFile(join(t.worktree, 'left.txt'), 'utf8')).toBe('left');
      const keptAt = /kept at (\S+?)(,|$)/.exec(item.reason)![1]!;
      expect(await repo.git(['show', `${keptAt}:two.txt`])).toBe('two');
      // The user's checkout: read by no git run in the folder, changed by none.
      expect(await repo.git(['status', '--porcelain'])).toBe(before);
      expect(await repo.git(['symbolic-ref', '--short', 'HEAD'])).toBe('main');
    },
  );

  it('is not retried within the run: the reset would have switched the checkout above it', async () => {
    // With retries, the reset for the next attempt ran git checkout -B and git clean in the
    // folder: git found the user's checkout above it and switched that to the task branch.
    const { result, t } = await run(agent('rm -f .git', 1), 1);
    expect(await repo.git(['symbolic-ref', '--short', 'HEAD'])).toBe('main');
    expect(t.status).toBe('failed');
    expect(t.attempts).toBe(1);
    expect(t.reason).toContain('not retried, since its worktree');
    const kept = t.kept_refs?.find((entry) => entry.ref.endsWith('/1/attempt-1'));
    expect(t.reason).toContain(`are kept at ${kept!.ref}`);
    expect(await repo.git(['show', `${kept!.ref}:left.txt`])).toBe('left');
    expect(await repo.git(['show', `${kept!.ref}:two.txt`])).toBe('two');
    expect(await pathExists(join(t.worktree, 'left.txt'))).toBe(true);
    expect(result.invariant.ok, result.invariant.text).toBe(true);
  });
});

describe("resume of a task whose agent removed its worktree's .git file before the orchestrator was killed", () => {
  // Its work was found, so resume collected it; the folder is no worktree any more, so the task
  // failed with "move them out of the way, then resume again", and a plain resume then had no
  // task to run (the task was failed: only --retry-failed runs it again).
  it('fails it, keeps its state through its git folder, and says to retry once the folder is moved', async () => {
    repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
    ledger = await scratch();
    await mkdir(ledger.file('ledger'));
    await writePlanJson(repo.dir, plan([task('a')]));
    const env = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LEDGER: ledger.file('ledger'),
      GO: ledger.file('go'),
      GONE: ledger.file('gone'),
    };
    const first = [
      `if [ ! -e "$GO" ]; then echo one > one.txt && git add one.txt && ${AGENT_GIT} commit -qm one && ${LEDGER_COMMIT}`,
      'printf left > left.txt && rm -f .git && touch "$GONE"',
      'while [ ! -e "$GO" ]; do sleep 0.1; done; exit 0; fi',
      `echo done > done.txt && git add done.txt && ${AGENT_GIT} commit -qm done && ${LEDGER_COMMIT}`,
    ].join('; ');
    const run = spawnRun(repo.dir, env, ['--plan', 'plan.json', '--agent-command', first]);
    await waitFor(async () =>
      readFile(env.GONE).then(
        () => true,
        () => null,
      ),
    );
    await killHard(run);
    await writeFile(env.GO, '');
    const resumed = await cli(['resume'], repo.dir, env);
    const t = (await readStateFile(repo.dir))!.tasks['a']!;
    expect(t.status, resumed.stdout + resumed.stderr).toBe('failed');
    expect(t.reason).toContain(
      'then retry the task (parallel-executor resume <execution> --retry-failed)',
    );
    const kept = /are kept at (\S+)$/.exec(t.reason ?? '')?.[1];
    expect(kept, t.reason ?? '').toBeDefined();
    expect(await repo.git(['show', `${kept}:left.txt`])).toBe('left');

    await rename(t.worktree, ledger.file('moved'));
    const retried = await cli(['resume', '--retry-failed'], repo.dir, env);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    const state = (await readStateFile(repo.dir))!;
    expect(state.integration!.merged).toEqual(['a']);
  });
});
