import { access } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runWithLedger } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/**
 * One commit on the task branch and a conflicting one, from the start, on a detached HEAD ($SIDE):
 * that one is only in the reflog once the agent is back on its branch.
 */
const TWO_SIDES =
  `echo ours > shared.txt && ${AGENT_GIT} commit -qam ours && ${LEDGER_COMMIT} && ` +
  `git checkout -q --detach HEAD~1 && echo theirs > shared.txt && ` +
  `${AGENT_GIT} commit -qam theirs && ${LEDGER_COMMIT} && SIDE=$(git rev-parse HEAD) && ` +
  'git checkout -q "$PE_BRANCH"';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('a worktree left in the middle of a git operation', () => {
  it.each([
    ['merge', `${AGENT_GIT} merge -q "$SIDE"`, /a merge in progress/],
    ['rebase', `${AGENT_GIT} rebase -q "$SIDE"`, /a rebase in progress/],
  ])('fails the task on an unfinished %s, kept as it is, never integrated', async (_, op, why) => {
    repo = await createTempRepo({ files: { 'shared.txt': 'base\n' } });
    // The agent exits 0 with the conflict unresolved, as agents do.
    const command = `${TWO_SIDES} && { ${op} || true; }`;
    const run = await runWithLedger(
      repo,
      plan([task('1'), task('2', { dependsOn: ['1'] })]),
      command,
    );
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(why);
    expect(t.reason).toContain('shared.txt');
    expect(t.reason).toMatch(/--abort/);
    expect(run.state.tasks['2']!.status).toBe('skipped');
    expect(run.state.integration?.merged ?? []).toEqual([]);
    // Nothing committed for the agent: the operation is still there to finish in the worktree.
    expect(await repo.git(['status', '--porcelain'], t.worktree)).toContain('shared.txt');
    expect(await repo.git(['ls-files', '-u'], t.worktree)).not.toBe('');
    // Its state is kept under a named ref, conflict markers and all, off the branch.
    expect(t.kept_refs?.length).toBeGreaterThan(0);
    expect(t.reason).toContain(t.kept_refs![0]!.ref);
    expect(await repo.git(['show', `${t.kept_refs![0]!.ref}:shared.txt`])).toContain('<<<<<<<');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
    expect(await exists(t.worktree)).toBe(true);
  });

  it('fails a task that committed conflict markers, naming the files; old markers are not its doing', async () => {
    repo = await createTempRepo({
      files: {
        'shared.txt': 'base\n',
        'fixture.txt': 'a fixture with\n<<<<<<< HEAD\nmarkers\n>>>>>>> other\n',
      },
    });
    const command =
      `printf '<<<<<<< HEAD\\nours\\n=======\\ntheirs\\n>>>>>>> side\\n' > shared.txt && ` +
      `echo more >> fixture.txt && ${AGENT_GIT} commit -qam resolved && ${LEDGER_COMMIT}`;
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/conflict markers .* shared\.txt;/);
    expect(t.reason).not.toContain('fixture.txt');
    expect(run.state.integration?.merged ?? []).toEqual([]);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it('leaves alone a task that only touched a file that always had markers', async () => {
    repo = await createTempRepo({
      files: { 'fixture.txt': 'a fixture with\n<<<<<<< HEAD\nmarkers\n>>>>>>> other\n' },
    });
    const command = `echo more >> fixture.txt && ${AGENT_GIT} commit -qam more && ${LEDGER_COMMIT}`;
    const run = await runWithLedger(repo, plan([task('1')]), command);
    expect(run.state.tasks['1']!.status).toBe('completed');
    expect(run.state.integration?.merged).toEqual(['1']);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
