import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runPreflight } from '../../src/engine/run/preflight.js';
import { inspectRepo } from '../../src/engine/workspace/repo.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo | null = null;
afterEach(async () => {
  await repo?.cleanup();
  repo = null;
});

async function diskDetail(dir: string, taskCount: number): Promise<string> {
  const report = await runPreflight({
    repo: await inspectRepo(dir),
    taskCount,
    completedCount: 0,
    worktreeRoot: join(dir, '.parallel-executor', 'worktrees'),
    minFreeDiskMb: 0,
    requiredEnv: [],
    env: {},
    ports: new Map(),
    portsPerAgent: 1,
    runner: null,
  });
  return report.checks.find((check) => check.name === 'disk')!.detail;
}

describe('pre-flight disk check', () => {
  it('estimates a checkout from the index, and from HEAD when the index is gone', async () => {
    repo = await createTempRepo({
      files: { 'big.bin': 'x'.repeat(3 * 2 ** 20), 'small.txt': 'hello\n' },
    });
    expect(await diskDetail(repo.dir, 2)).toMatch(/~7 MB needed \(2 worktree\(s\) of ~4 MB/);
    await repo.git(['rm', '-q', '--cached', '-r', '.']);
    expect(await diskDetail(repo.dir, 2)).toMatch(/~7 MB needed \(2 worktree\(s\) of ~4 MB/);
  });
});
