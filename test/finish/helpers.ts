import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAgentCommand } from '../../src/demo/agent-command.js';
import { createSampleRepo } from '../../src/demo/sample-repo.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { git } from '../../src/engine/workspace/git-exec.js';

/** The demo's scripted agent, as `demo` runs it (from source here: node --import tsx agent.ts). */
export const DEMO_AGENT = demoAgentCommand(process.execPath);

/** Short steps: the agents' pauses only make the dashboard watchable, tests need none. */
export const DEMO_ENV = { DEMO_AGENT_STEP_MS: '30' };

export interface DemoRepo {
  dir: string;
  git(args: readonly string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/** The demo's sample repository in a fresh temp dir. */
export async function demoRepo(): Promise<DemoRepo> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'pe-finish-')));
  await createSampleRepo(dir);
  return {
    dir,
    git: async (args) => (await git(dir, args)).stdout.replace(/\n$/, ''),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What must not change in the user's checkout: HEAD, branch, status, the plan's bytes. */
export async function checkoutSnapshot(repo: DemoRepo) {
  return {
    head: await repo.git(['rev-parse', 'HEAD']),
    branch: await repo.git(['symbolic-ref', '--short', 'HEAD']),
    status: await repo.git(['status', '--porcelain', '--untracked-files=all']),
    plan: await readFile(join(repo.dir, 'MULTI_AGENT_PLAN.md')),
  };
}

export async function readState(file: string): Promise<ExecutionState> {
  return JSON.parse(await readFile(file, 'utf8')) as ExecutionState;
}

/** The JSON document of `run --json` (the fields these tests read). */
export interface RunDocument {
  executionId: string;
  status: string;
  integration: {
    branch: string;
    strategy: string;
    merged: string[];
    conflicts: Array<{ taskId: string; files: string[]; with: string[] }>;
    dropped: Array<{ taskId: string; reason: string }>;
    testRuns: number;
    testsPassed: boolean | null;
    headSha: string;
  } | null;
  report: string | null;
  reportCommit: { branch: string; path: string; sha: string; planFile: string | null } | null;
  writeBack: { mode: string; file: string | null; changed: boolean; note: string } | null;
  kept: Array<{ taskId: string; worktree: string | null; branch: string; log: string }>;
  cleanup: { complete: boolean; archives: string[]; removed: number; errors: number } | null;
  tasks: Array<{
    id: string;
    status: string;
    branch: string;
    worktree: string;
    reason: string | null;
    validation: {
      status: string;
      checks: Array<{ name: string; exitCode: number | null; passed: boolean; skipped: boolean }>;
    } | null;
  }>;
}
