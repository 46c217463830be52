import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan

## Parallel Group 1: Work

- [ ] 1.1: Say hello (Builder-1, 1h)
  - [ ] hello.txt exists
`;

const AGENT = '#!/bin/sh\necho hello > hello.txt\n';

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

async function writeAgent(): Promise<void> {
  await writeFile(join(repo.dir, 'my-agent.sh'), AGENT);
  await chmod(join(repo.dir, 'my-agent.sh'), 0o755);
}

async function anyWorktree(): Promise<boolean> {
  const dir = join(repo.dir, '.parallel-executor', 'worktrees');
  return (await readdir(dir).catch(() => [])).length > 0;
}

describe('a command agent named by a path', () => {
  // On a real project: agent.command ./my-agent.sh, a script of the user's not committed (ignored).
  // The pre-flight said GO, and every task failed with "/bin/sh: 1: ./my-agent.sh: not found".
  it('is refused before anything starts when the script is only in the checkout', async () => {
    await writeAgent();
    await repo.write('.git/info/exclude', 'my-agent.sh\n');
    const result = await cli(['run', '--agent-command', './my-agent.sh'], repo.dir);
    expect(result.code).toBe(1);
    const out = result.stdout + result.stderr;
    expect(out).toContain(
      'the agent command runs ./my-agent.sh, which is in your checkout but not committed: each task runs in a new worktree of',
    );
    expect(out).toContain(`give its absolute path (${join(repo.dir, 'my-agent.sh')})`);
    expect(out).not.toContain('not found');
    expect(await anyWorktree()).toBe(false);

    // Each way out the hint gives works: replicated into the worktrees…
    await repo.write('.github/parallel-executor.yml', 'workspace:\n  replicate: [my-agent.sh]\n');
    await repo.commit('replicate the agent');
    const replicated = await cli(['run', '--agent-command', './my-agent.sh'], repo.dir);
    expect(replicated.code, replicated.stdout + replicated.stderr).toBe(0);
  });

  it('is refused when committed without its executable bit, and runs once it has it', async () => {
    await repo.write('my-agent.sh', AGENT);
    await repo.commit('the agent, not executable');
    const result = await cli(['run', '--agent-command', './my-agent.sh'], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(
      'which is committed without its executable bit',
    );
    await repo.git(['update-index', '--chmod=+x', 'my-agent.sh']);
    await repo.git(['commit', '-qm', 'executable']);
    await chmod(join(repo.dir, 'my-agent.sh'), 0o755);
    const fixed = await cli(['run', '--agent-command', './my-agent.sh'], repo.dir);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
  });

  it('leaves commands on PATH, absolute paths that exist and shell text alone', async () => {
    const result = await cli(['run', '--agent-command', 'echo hello > hello.txt'], repo.dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // The absolute path the first hint offers, of the same uncommitted script.
    await writeAgent();
    await repo.write('.git/info/exclude', 'my-agent.sh\n');
    await repo.write('MULTI_AGENT_PLAN.md', PLAN.replace('1.1: Say hello', '1.1: Say hello again'));
    await repo.commit('again');
    const absolute = await cli(['run', '--agent-command', join(repo.dir, 'my-agent.sh')], repo.dir);
    expect(absolute.code, absolute.stdout + absolute.stderr).toBe(0);
  });
});
