/** Shared by the collect-* safety tests: a repo, a ledger, and a run with integration. */
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  collectTask,
  type CollectInput,
  type CollectResult,
} from '../../src/engine/collect/collect.js';
import { inspectWorktree } from '../../src/engine/collect/inspect.js';
import { createFinisher, type Finisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS, type FinishSettings } from '../../src/engine/finish/settings.js';
import type { ExecutionSettings } from '../../src/engine/run/settings.js';
import type { ExecutionEvent } from '../../src/engine/monitor/events.js';
import type { Plan } from '../../src/engine/plan/schema.js';
import { agentEnv, runPlan, scratch, type Recorded, type Scratch } from '../engine/helpers.js';
import { reattachTaskBranch } from '../../src/engine/workspace/worktree.js';
import { TEST_IDENTITY, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
} from '../support/invariant.js';

/** The agent's git, with an identity and no signing whatever the machine says. */
export const AGENT_GIT =
  'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';

/** Shell: record HEAD in the ledger (call after each commit the agent makes). */
export const LEDGER_COMMIT =
  'printf \'{"commit":"%s","task":"%s"}\\n\' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"';

export interface CollectRun extends Recorded {
  finisher: Finisher;
  /** The invariant checker's verdict, with its description for the failure message. */
  invariant: { ok: boolean; text: string };
}

/**
 * Run `plan` with `command` as every agent, validation and integration as the CLI does them
 * (clean-up off, so the tests can look at what is left), then check the invariant.
 */
export async function runWithLedger(
  repo: TempRepo,
  thePlan: Plan,
  command: string,
  env: Record<string, string> = {},
): Promise<CollectRun> {
  const ledger: Scratch = await scratch();
  try {
    return await runChecked(repo, ledger.dir, thePlan, command, { env });
  } finally {
    await ledger.cleanup();
  }
}

/**
 * `runWithLedger` with the ledger in `ledgerDir` (kept by the caller) and finish and execution
 * settings of the caller's (clean-up off unless they say otherwise).
 */
export async function runChecked(
  repo: TempRepo,
  ledgerDir: string,
  thePlan: Plan,
  command: string,
  options: {
    env?: Record<string, string>;
    finish?: Partial<FinishSettings>;
    settings?: Partial<ExecutionSettings>;
    /** Told of each event as the run goes (to time a test's own moves). */
    onEvent?: (event: ExecutionEvent) => void;
  } = {},
): Promise<CollectRun> {
  const before = await snapshotCheckout(repo.dir);
  const fullEnv = agentEnv({ LEDGER: ledgerDir, ...options.env });
  const finisher = createFinisher({
    settings: { ...DEFAULT_FINISH_SETTINGS, cleanUp: false, ...options.finish },
    env: fullEnv,
  });
  const recorded = await runPlan(repo.dir, thePlan, command, {
    env: fullEnv,
    hooks: finisher.hooks,
    ...(options.settings === undefined ? {} : { settings: options.settings }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state: recorded.state,
    ledger: await readLedger(ledgerDir),
    before,
    expectedStatus: /^reports\//,
  });
  return { ...recorded, finisher, invariant: { ok: report.ok, text: describeReport(report) } };
}

/** `git ls-tree -r --name-only` of a ref, as a list. */
export async function filesOn(repo: TempRepo, ref: string): Promise<string[]> {
  return (await repo.git(['ls-tree', '-r', '--name-only', ref])).split('\n').filter(Boolean);
}

/**
 * The engine's git inherits this process's environment: keep the machine's git config out of the
 * tests in this file (call at its top level).
 */
export function isolateGitConfig(): void {
  const saved = new Map<string, string | undefined>();
  beforeAll(() => {
    for (const [key, value] of Object.entries({
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    })) {
      saved.set(key, process.env[key]);
      process.env[key] = value;
    }
  });
  afterAll(() => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
}

/**
 * What task.ts does once the agent has ended (inspect, reattach, collect), called directly; a
 * string when inspection or reattaching refused.
 */
export async function collectLikeTask(
  branch: string,
  input: Omit<CollectInput, 'inspected'>,
): Promise<CollectResult | string> {
  const inspected = await inspectWorktree({
    worktree: input.worktree,
    startSha: input.startSha,
    toolPaths: ['AGENT_CONTEXT.md', 'TASK_SUMMARY.md', ...input.keepOut],
  });
  if (inspected.problems.length > 0) return inspected.problems.join('; ');
  const lost = await reattachTaskBranch(input.worktree, branch, inspected.head?.ref);
  if (lost !== null) return lost;
  return collectTask({ ...input, inspected });
}

/** Task `a`'s collection input for a worktree of `repo` that started at `startSha`. */
export function directInput(
  repo: TempRepo,
  worktree: string,
  startSha: string,
): Omit<CollectInput, 'inspected'> {
  return {
    worktree,
    taskId: 'a',
    taskTitle: 'Task a',
    agent: 'test',
    startSha,
    identity: TEST_IDENTITY,
    keepOut: [],
    outputDir: join(repo.dir, '.out', 'a'),
    logFile: join(repo.dir, '.out', 'missing.log'),
    durationMs: 0,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    agentSummary: null,
  };
}
