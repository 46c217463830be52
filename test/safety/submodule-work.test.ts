import { afterEach, describe, expect, it } from 'vitest';
import { plan, scratch, task } from '../engine/helpers.js';
import { addSubmodule, createTempRepo, FILE_PROTOCOL, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runChecked } from './collect-support.js';

let repo: TempRepo;
let library: TempRepo;
afterEach(async () => {
  await repo?.cleanup();
  await library?.cleanup();
});

describe('an agent that commits inside a submodule of the project', () => {
  // The commit existed only in the worktree's clone of the submodule: the task was merged, the
  // worktree removed, and the integration branch pointed the submodule at a commit gone for good.
  it('keeps that commit under a ref of the task and says to push it before merging', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    const agent = [
      `(cd lib && echo fix > fix.txt && git add fix.txt && ${AGENT_GIT} commit -qm fix)`,
      `git add lib && ${AGENT_GIT} commit -qm bump && ${LEDGER_COMMIT}`,
    ].join(' && ');
    const ledger = await scratch();
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        env: FILE_PROTOCOL,
        finish: { cleanUp: true },
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(run.state.integration?.merged).toEqual(['1']);
      const link = await repo.git(['rev-parse', `${run.state.integration!.branch}:lib`]);
      const kept = (t.kept_refs ?? []).find((k) => k.sha === link);
      expect(kept?.ref).toMatch(/\/1\/submodule-[0-9a-f]{12}$/);
      expect(await repo.git(['show', `${kept!.ref}:fix.txt`])).toBe('fix');
      expect(t.warnings?.join('\n')).toContain(
        `points submodules at commits the agent made inside them and pushed nowhere`,
      );
      expect(t.warnings?.join('\n')).toContain(
        `lib at ${link.slice(0, 12)} (kept at ${kept!.ref})`,
      );
      expect(run.invariant.ok, run.invariant.text).toBe(true);
    } finally {
      await ledger.cleanup();
    }
  });

  it('says nothing of a submodule commit a remote-tracking branch holds (one the agent fetched)', async () => {
    library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
    repo = await createTempRepo();
    await addSubmodule(repo, library);
    await library.write('more.txt', 'more\n');
    await library.commit('more');
    const agent = [
      '(cd lib && git fetch -q origin && git checkout -q origin/HEAD)',
      `git add lib && ${AGENT_GIT} commit -qm bump && ${LEDGER_COMMIT}`,
    ].join(' && ');
    const ledger = await scratch();
    try {
      const run = await runChecked(repo, ledger.dir, plan([task('1')]), agent, {
        env: FILE_PROTOCOL,
      });
      const t = run.state.tasks['1']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(t.kept_refs ?? []).toEqual([]);
      expect(t.warnings?.join('\n') ?? '').not.toContain('submodule');
    } finally {
      await ledger.cleanup();
    }
  });
});
