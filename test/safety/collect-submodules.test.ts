import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { plan, scratch, task } from '../engine/helpers.js';
import { addSubmodule, createTempRepo, FILE_PROTOCOL, type TempRepo } from '../support/git-repo.js';
import { runChecked, runWithLedger } from './collect-support.js';

let repo: TempRepo;
let library: TempRepo;
afterEach(async () => {
  await repo?.cleanup();
  await library?.cleanup();
});

async function repoWithSubmodule(): Promise<void> {
  library = await createTempRepo({ files: { 'lib.txt': 'library code\n' } });
  repo = await createTempRepo();
  await addSubmodule(repo, library);
}

describe('a repository with submodules', () => {
  it('checks them out in every task worktree, so work that needs them succeeds', async () => {
    await repoWithSubmodule();
    const command = 'cat lib/lib.txt > "copy-$PE_TASK_ID.txt"';
    const run = await runWithLedger(repo, plan([task('a'), task('b')]), command, FILE_PROTOCOL);
    for (const id of ['a', 'b']) {
      const t = run.state.tasks[id]!;
      expect(t.status, t.reason ?? '').toBe('completed');
    }
    expect(run.state.integration?.merged).toEqual(['a', 'b']);
    const branch = run.state.integration!.branch;
    expect(await repo.git(['show', `${branch}:copy-a.txt`])).toBe('library code');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });

  it("keeps them in place for a retry: they are the project's, not a repository an agent left", async () => {
    await repoWithSubmodule();
    const box = await scratch();
    try {
      // The first attempt fails; the retry needs the submodule's files.
      const command = `if [ ! -f "${box.file('tried')}" ]; then touch "${box.file('tried')}"; exit 1; fi; cat lib/lib.txt > copy.txt`;
      const run = await runChecked(repo, box.dir, plan([task('a')]), command, {
        env: FILE_PROTOCOL,
        settings: { retries: 1 },
      });
      const t = run.state.tasks['a']!;
      expect(t.status, t.reason ?? '').toBe('completed');
      expect(t.attempts).toBe(2);
      expect((t.warnings ?? []).filter((w) => w.includes('nested git repositor'))).toEqual([]);
      expect(await repo.git(['show', `${t.branch}:copy.txt`])).toBe('library code');
    } finally {
      await box.cleanup();
    }
  });

  it('fails the task, naming the submodules, when they cannot be checked out', async () => {
    await repoWithSubmodule();
    await rm(library.dir, { recursive: true, force: true });
    const run = await runWithLedger(repo, plan([task('a')]), 'echo never > ran.txt', FILE_PROTOCOL);
    const t = run.state.tasks['a']!;
    expect(t.status).toBe('failed');
    expect(t.reason).toMatch(/submodules \(\.gitmodules\) .* could not be checked out/);
    expect(t.reason).toContain('git submodule update --init --recursive');
    expect(run.invariant.ok, run.invariant.text).toBe(true);
  });
});
