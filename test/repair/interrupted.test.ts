import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settleInterruptedRepairs } from '../../src/engine/repair/interrupted.js';
import { DEFAULT_IDENTITY } from '../../src/engine/workspace/identity.js';
import {
  addTask,
  integrate,
  integrationResult,
  useRepos,
  run,
  TEST_ENV,
  worktreePaths,
  writeState,
} from '../cleanup/repo.js';

const newRepo = useRepos();

/**
 * The orchestrator stopped while the repairs were being integrated: the repaired branch had been
 * merged on the scratch branch and the integration branch moved to it, but the state still
 * records the old head and the attempt as under way. Built with real git as the loop leaves it.
 */
describe('settleInterruptedRepairs', () => {
  it('keeps the attempt and what the unrecorded landing made, and puts the integration branch back', async () => {
    const repo = await newRepo();
    const c = await addTask(repo, { id: 'c' });
    const d = await addTask(repo, { id: 'd' });
    await integrate(repo, [c]);
    const head = await run(repo.root, ['rev-parse', 'integration/g1']);
    const worktree = path.join(repo.executionDir, 'worktrees', 'repair-d-abc');
    await mkdir(path.dirname(worktree), { recursive: true });
    const branch = 'agent/builder/d-repair';
    await run(repo.root, ['worktree', 'add', '-q', '-b', branch, worktree, head]);
    await run(worktree, ['merge', '-q', '--no-ff', '-m', 'Repair d', d.branch]);
    await writeFile(path.join(worktree, 'scratch-notes.txt'), 'not committed\n');
    // The landing: the scratch branch merges the repair, the integration branch moves to it.
    await run(repo.root, ['branch', 'integration/g1-repair-1', head]);
    const scratch = path.join(repo.base, 'scratch');
    await run(repo.root, ['worktree', 'add', '-q', scratch, 'integration/g1-repair-1']);
    await run(scratch, ['merge', '-q', '--no-ff', '-m', 'Integrate d', branch]);
    await run(repo.root, ['worktree', 'remove', scratch]);
    const landed = await run(repo.root, ['rev-parse', 'integration/g1-repair-1']);
    await run(repo.root, ['update-ref', 'refs/heads/integration/g1', landed, head]);
    const state = await writeState(repo, [c, d], {
      status: 'in_progress',
      integration: integrationResult(['c'], {
        headSha: head,
        conflicts: [{ taskId: 'd', files: ['shared.txt'], with: ['c'] }],
        dropped: [{ taskId: 'd', reason: 'merge conflict in shared.txt' }],
        repairing: {
          attempts: [
            {
              taskId: 'd',
              kind: 'conflict',
              attempt: 1,
              branch,
              worktree,
              baseSha: head,
              headSha: null,
            },
          ],
        },
      }),
    });
    const notified: string[] = [];

    const notes = await settleInterruptedRepairs({
      state,
      executionDir: repo.executionDir,
      env: TEST_ENV,
      identity: DEFAULT_IDENTITY,
      why: 'the orchestrator stopped',
      notify: (message) => notified.push(message),
    });

    const exec = repo.executionId;
    const ref = (name: string) => `refs/parallel-executor/${exec}/${name}`;
    // The state and the integration branch agree again; what the landing made is kept.
    expect(await run(repo.root, ['rev-parse', 'integration/g1'])).toBe(head);
    expect(await run(repo.root, ['rev-parse', ref('integration/attempt-1')])).toBe(landed);
    expect(await run(repo.root, ['rev-parse', ref('integration/attempt-2')])).toBe(landed);
    expect(
      await run(repo.root, ['for-each-ref', '--format=%(refname)', 'refs/heads/integration/']),
    ).toBe('refs/heads/integration/g1');
    // The attempt: its worktree's state kept, the worktree removed, the branch kept.
    expect(await run(repo.root, ['show', `${ref('d-repair/attempt-1')}:scratch-notes.txt`])).toBe(
      'not committed',
    );
    expect(existsSync(worktree)).toBe(false);
    expect(await worktreePaths(repo.root)).not.toContain(worktree);
    expect(await run(repo.root, ['rev-parse', branch])).not.toBe(head);
    // The record says interrupted, never merged; the loop state is gone.
    expect(state.integration!.repairing).toBeUndefined();
    expect(state.integration!.merged).toEqual(['c']);
    expect(state.integration!.repairs).toEqual([
      expect.objectContaining({
        taskId: 'd',
        kind: 'conflict',
        attempts: 1,
        interrupted: 1,
        outcome: 'failed',
        with: ['c'],
        files: ['shared.txt'],
        branch,
        keptRefs: [ref('d-repair/attempt-1')],
        reason: `interrupted: the orchestrator stopped during attempt 1; what it left is kept as ${ref('d-repair/attempt-1')}`,
      }),
    ]);
    expect(notes).toHaveLength(3);
    expect(notified).toEqual(notes.map((note) => note.replace(/^d: /, '')));
  });
});
