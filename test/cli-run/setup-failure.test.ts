import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { cli } from './helpers.js';

const PLAN = `# Plan

## Parallel Group 1: Work

- [ ] 1.1: Say hello (Builder-1, 1h)
  - [ ] hello.txt exists
`;

/** What npm 11 printed for workspace.setup: npm ci in a project without a lockfile (shortened). */
const NPM_CI = [
  'echo "npm error code EUSAGE" >&2',
  'echo "npm error" >&2',
  'echo "npm error The \\`npm ci\\` command can only install with an existing package-lock.json or" >&2',
  'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "npm error   --flag-$i   usage text $i" >&2; done',
  'exit 1',
].join('; ');

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({
    files: {
      'MULTI_AGENT_PLAN.md': PLAN,
      '.github/parallel-executor.yml': `workspace:\n  setup: ${JSON.stringify(NPM_CI)}\n`,
    },
  });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('a workspace.setup command that fails', () => {
  // On a real project (setup: npm ci, no package-lock.json) the reason was only "setup command
  // failed (exit 1); its output is in …/logs/1-1.log", whose last lines are npm ci's usage text.
  it('says what it printed of its failure in the reason, and where the rest is', async () => {
    const result = await cli(['run', '--agent-command', 'echo hello > hello.txt'], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /setup command failed \(exit 1\); its output says: npm error code EUSAGE \| npm error \| npm error The `npm ci` command can only install with an existing package-lock\.json or \| .*; its output is in \S+\/logs\/1-1\.log/,
    );
  });
});
