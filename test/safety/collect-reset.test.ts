import { afterEach, describe, expect, it } from 'vitest';
import { plan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runWithLedger } from './collect-support.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

describe('a branch reset below its start commit', () => {
  it.each([
    ['right away', 'git reset -q --hard HEAD~1'],
    [
      'after committing',
      `echo work > work.txt && git add work.txt && ${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && ` +
        'git reset -q --hard HEAD~2',
    ],
    [
      'then committing there and amending that commit',
      `git reset -q --hard HEAD~1 && echo work > work.txt && git add work.txt && ` +
        `${AGENT_GIT} commit -qm work && ${LEDGER_COMMIT} && echo more >> work.txt && ` +
        `git add work.txt && ${AGENT_GIT} commit -q --amend --no-edit && ${LEDGER_COMMIT}`,
    ],
  ])('fails the task, keeping what it dropped (%s)', async (_, command) => {
    repo = await createTempRepo({ files: { 'a.txt': 'a\n' } });
    await repo.write('b.txt', 'b\n');
    await repo.commit('second');
    const run = await runWithLedger(repo, plan([task('1')]), command);
    const t = run.state.tasks['1']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/the branch no longer contains its start commit/);
    expect(run.state.integration?.merged ?? []).toEqual([]);
    expect(t.kept_refs?.length).toBeGreaterThan(0);
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
