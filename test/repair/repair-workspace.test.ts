import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRepairWorkspace } from '../../src/engine/repair/workspace.js';
import { makeRepo, type RepoFixture } from '../integrate/fixture.js';

const IDENTITY = { name: 'Repair Bot', email: 'repair@example.com' };

let repo: RepoFixture;
afterEach(() => repo.cleanup());

describe('the repair workspace merge, outside a run (the Action repair leg)', () => {
  describe('a repository that does not use union', () => {
    beforeEach(async () => {
      repo = await makeRepo();
    });

    it("a task branch's .gitattributes naming git's union merge does not hide the conflict the task was left out for", async () => {
      // X1 landed with the attribute; X2, which changed the same line, was left out.
      const head = await repo.branch('task/X1', {
        '.gitattributes': 'shared.txt merge=union\n',
        'shared.txt': 'line 1\nX1 was here\nline 3\n',
      });
      await repo.branch('task/X2', { 'shared.txt': 'line 1\nX2 was here\nline 3\n' });

      const ws = await openRepairWorkspace({
        repoRoot: repo.root,
        dir: join(repo.dir, 'repairs'),
        taskId: 'X2',
        taskBranch: 'task/X2',
        integrationHead: head,
        baseSha: repo.baseSha,
        env: repo.env,
        identity: IDENTITY,
      });

      expect(ws.conflicted).toEqual(['shared.txt']);
      expect(await readFile(join(ws.worktree, 'shared.txt'), 'utf8')).toContain('<<<<<<<');
    });
  });

  it('a repository that uses union at its base still merges with it', async () => {
    repo = await makeRepo({ '.gitattributes': 'shared.txt merge=union\n' });
    const head = await repo.branch('task/X1', { 'shared.txt': 'line 1\nX1 was here\nline 3\n' });
    await repo.branch('task/X2', { 'shared.txt': 'line 1\nX2 was here\nline 3\n' });

    const ws = await openRepairWorkspace({
      repoRoot: repo.root,
      dir: join(repo.dir, 'repairs'),
      taskId: 'X2',
      taskBranch: 'task/X2',
      integrationHead: head,
      baseSha: repo.baseSha,
      env: repo.env,
      identity: IDENTITY,
    });

    expect(ws.conflicted).toEqual([]);
    expect(await readFile(join(ws.worktree, 'shared.txt'), 'utf8')).toBe(
      'line 1\nX1 was here\nX2 was here\nline 3\n',
    );
  });
});
