import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runWithLedger } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/**
 * A nested repository with one commit of its own, at `sub/` (not in the ledger: it is the nested
 * repository's commit, which no ref of the outer one can hold; the test looks for it there).
 */
const NESTED =
  'mkdir sub && (cd sub && git init -q && echo inner > inner.txt && git add inner.txt && ' +
  `${AGENT_GIT} commit -qm inner) && echo outer > outer.txt`;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('a git repository an agent made inside its worktree', () => {
  it.each([
    ['left untracked', NESTED, /nested git repository in its worktree \(sub\/\)/],
    [
      'committed as a gitlink',
      `${NESTED} && git add -A && ${AGENT_GIT} commit -qm "with sub" && ${LEDGER_COMMIT}`,
      /committed a link to a nested git repository .*: sub;/,
    ],
  ])('fails the task when %s, keeping its worktree and commits', async (_, command, why) => {
    repo = await createTempRepo();
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(why);
    expect(run.state.integration?.merged ?? []).toEqual([]);
    // The nested repository, with its own commit, is still there to recover.
    expect(await exists(join(t.worktree, 'sub', '.git'))).toBe(true);
    expect(await repo.git(['log', '-1', '--format=%s'], join(t.worktree, 'sub'))).toBe('inner');
    // No gitlink was ever committed for the agent.
    const tree = await repo.git(['ls-tree', '-r', t.branch]);
    if (command === NESTED) expect(tree).not.toContain('160000');
    expect(t.kept_refs?.length).toBeGreaterThan(0);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it('says so when a nested repository without commits stops the worktree from being kept', async () => {
    repo = await createTempRepo();
    const command = 'mkdir sub && (cd sub && git init -q && echo inner > inner.txt)';
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/nested git repository in its worktree \(sub\/\)/);
    expect(t.reason).toContain(t.worktree);
    expect(await exists(join(t.worktree, 'sub', 'inner.txt'))).toBe(true);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it('accepts a submodule the agent declared in .gitmodules', async () => {
    repo = await createTempRepo();
    const command =
      `${NESTED} && git add outer.txt && ${AGENT_GIT} commit -qm outer && ${LEDGER_COMMIT} && ` +
      'printf \'[submodule "sub"]\\n\\tpath = sub\\n\\turl = https://example.invalid/sub.git\\n\' > .gitmodules && ' +
      `git add .gitmodules sub && ${AGENT_GIT} commit -qm "declare sub" && ${LEDGER_COMMIT}`;
    const run = await runWithLedger(repo, plan([task('1')]), command);
    expect(run.state.tasks['1']!.status, run.state.tasks['1']!.reason ?? '').toBe('completed');
    expect(run.state.integration?.merged).toEqual(['1']);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
