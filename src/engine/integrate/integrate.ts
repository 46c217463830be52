import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PreflightError, UsageError } from '../errors.js';
import { runCommand } from '../exec/run-command.js';
import { silentLogger, type Logger } from '../ports/logger.js';
import { batchBisect } from './batch-bisect.js';
import { orderCandidates, type IntegrationCandidate } from './candidates.js';
import { predictConflicts } from './conflicts.js';
import { unionAsThreeWay } from '../workspace/config-guard.js';
import { assertClean, identityConfig, repoGit, resolveCommit, type RepoGit } from './repo.js';
import { pruneWorktreesIn } from '../workspace/worktree-admin.js';
import { actOnRisks, findRisks, type OnRisk } from './risks.js';
import { IntegrationResult, type IntegrationProgress } from './schema.js';
import { serial } from './serial.js';
import { IntegrationSession } from './session.js';
import { suspectFinder } from './suspects.js';
import { IntegrationTests } from './test-runs.js';

export type { IntegrationCandidate } from './candidates.js';

export interface IntegrateOptions {
  /** Any worktree of the repository; it is only read (refs, objects), never checked out. */
  repoRoot: string;
  /** The commit the integration branch starts from. */
  baseSha: string;
  /** E.g. `integration/group-2`; must not exist yet. */
  branchName: string;
  /** The integration worktree is made in a new folder under this one — never the user's checkout. */
  workdir: string;
  /** Validated task branches in plan order. */
  candidates: readonly IntegrationCandidate[];
  /** The user's trusted test command (`sh -c`, in the integration worktree); null: merge only. */
  testCommand: string | null;
  strategy: 'batch-bisect' | 'serial';
  /** Check every pair of branches with `git merge-tree` before merging. */
  detectConflicts: boolean;
  /** What to do with interaction risks (they are always looked for); default `report`. */
  onRisk?: OnRisk;
  /** The whole environment for git and the test command. */
  env: Record<string, string>;
  signal?: AbortSignal;
  /** Test outputs (`integration-test-NN.txt`) and `integration-test-runs.json` go here. */
  logDir: string;
  /** Per test run; none by default. A run that times out counts as failing. */
  testTimeoutMs?: number;
  /**
   * Run once in the fresh integration worktree before any merge (e.g. `npm ci`, the config's
   * `workspace.setup`): a new worktree has no dependencies installed. What it creates should be
   * git-ignored, since untracked files are cleaned between test runs.
   */
  setupCommand?: string | null;
  logger?: Logger;
  /** Where the integration is, at each merge and test run (for a live view). */
  onProgress?: (progress: IntegrationProgress) => void;
  /**
   * Task ids to test first when the tests fail (e.g. the interaction risks); tasks whose changed
   * files the failing output names are suspected too (batch-bisect only).
   */
  suspects?: readonly string[];
  /** False: plain bisection, no task tested first (the baseline `bench/integration.ts` prints). */
  culpritFirst?: boolean;
}

/**
 * Build the integration branch from the base and the task branches, in its own worktree, with
 * the chosen strategy; report what merged, what conflicted (files, and with whom), what was
 * dropped and why, and how many test runs it took. The integration worktree is removed at the
 * end; the branch stays. The user's checkout (HEAD, index, files) is never touched.
 *
 * The branch only ever points at complete merge commits. If the run is aborted or fails, the
 * error is thrown after the worktree is removed, and the branch holds the last complete state
 * (consistent, but not the full result).
 */
export async function integrate(options: IntegrateOptions): Promise<IntegrationResult> {
  const logger = options.logger ?? silentLogger;
  const root = repoGit(options.repoRoot, options.env);
  await checkBranchName(root, options.branchName);
  const baseSha = await resolveCommit(root, options.baseSha);
  if (baseSha === null) {
    throw new UsageError(
      `base commit ${options.baseSha} not found in ${options.repoRoot}`,
      'Pass a commit or branch that exists in the repository.',
    );
  }
  const ordered = orderCandidates(options.candidates);
  const mergeConfig = [
    ...(await identityConfig(options.repoRoot, options.env)),
    ...(await unionAsThreeWay(options.repoRoot, baseSha, options.env)),
  ];
  await mkdir(options.logDir, { recursive: true });
  await mkdir(options.workdir, { recursive: true });
  const worktree = await mkdtemp(join(options.workdir, 'integration-'));
  await root.run(['worktree', 'add', '-q', '-b', options.branchName, worktree, baseSha]);
  const repo = repoGit(worktree, options.env, mergeConfig);
  try {
    const session = new IntegrationSession(
      repo,
      baseSha,
      ordered,
      logger,
      options.signal,
      options.onProgress,
    );
    session.progress('setup');
    await setUp(repo.cwd, options);
    await session.resolveTips();
    const predictedConflicts = options.detectConflicts
      ? await predictConflicts(repo, session.tipsOf(ordered))
      : [];
    const risks = await findRisks(session, logger);
    const tests =
      options.testCommand === null
        ? null
        : new IntegrationTests({
            repo,
            command: options.testCommand,
            env: options.env,
            logDir: options.logDir,
            signal: options.signal,
            timeoutMs: options.testTimeoutMs,
            onRun: (run, tasks) => {
              session.testRun = run;
              session.progress('testing', tasks.at(-1) ?? null);
            },
          });
    // Tasks with an interaction risk are tested first when the tests fail (culprit-first).
    const testsPassed = await run(session, tests, options.strategy, {
      ...options,
      suspects: [...(options.suspects ?? []), ...risks.flatMap((risk) => risk.tasks)],
    });
    await tests?.writeLog();
    await actOnRisks(risks, session, { ...options, onRisk: options.onRisk ?? 'report' });
    session.bisecting = false;
    session.testRunsAtMost = session.testRun;
    session.progress('done');
    const headSha = session.head();
    await assertClean(repo, headSha);
    return IntegrationResult.parse({
      strategy: options.strategy,
      branch: options.branchName,
      baseSha,
      headSha,
      merged: session.idsOf(session.chain.length),
      conflicts: session.conflicts,
      dropped: session.dropped,
      predictedConflicts,
      testRuns: tests?.runs ?? 0,
      testsPassed,
      testCommand: options.testCommand,
      risks,
      notes: session.notes,
    });
  } finally {
    await removeWorktree(root, worktree);
  }
}

async function run(
  session: IntegrationSession,
  tests: IntegrationTests | null,
  strategy: IntegrateOptions['strategy'],
  options: Pick<IntegrateOptions, 'suspects' | 'culpritFirst'>,
): Promise<boolean | null> {
  if (tests === null) {
    await session.mergeAll(session.candidates);
    return null;
  }
  if (strategy === 'serial') return serial(session, tests);
  if (options.culpritFirst === false) return batchBisect(session, tests);
  return batchBisect(session, tests, suspectFinder(session, options.suspects ?? []));
}

async function setUp(worktree: string, options: IntegrateOptions): Promise<void> {
  if (options.setupCommand === undefined || options.setupCommand === null) return;
  const outputFile = join(options.logDir, 'integration-setup.txt');
  const result = await runCommand({
    command: options.setupCommand,
    cwd: worktree,
    env: options.env,
    outputFile,
    signal: options.signal,
  });
  options.signal?.throwIfAborted();
  if (result.exitCode === 0) return;
  throw new PreflightError(
    `the setup command failed in the integration worktree (exit ${result.exitCode ?? result.signal})`,
    `See ${outputFile}.`,
  );
}

async function checkBranchName(root: RepoGit, branch: string): Promise<void> {
  const valid = await root.run(['check-ref-format', '--branch', branch], [1, 128]);
  if (valid.exitCode !== 0 || branch.startsWith('-')) {
    throw new UsageError(
      `"${branch}" is not a valid branch name`,
      'Use letters, digits, "/", "-" and "_" (e.g. integration/group-2).',
    );
  }
  const exists = await root.run(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], [1]);
  if (exists.exitCode === 0) {
    throw new PreflightError(
      `branch ${branch} already exists`,
      `Delete it (git branch -D ${branch}) or integrate under another execution id.`,
    );
  }
}

/** Discards whatever the worktree holds (a merge in progress included); the branch stays. */
async function removeWorktree(root: RepoGit, worktree: string): Promise<void> {
  const removed = await root.run(['worktree', 'remove', '--force', worktree], [128]);
  if (removed.exitCode !== 0) {
    await rm(worktree, { recursive: true, force: true });
    await pruneWorktreesIn(root.cwd, [worktree]);
  }
}
