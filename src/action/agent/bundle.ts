/**
 * The task's bundle, written to `bundle-dir` for actions/upload-artifact: the branch as a git
 * bundle (`<base>..<branch>`, none when the agent changed nothing), the engine's output files
 * (`changes.diff`, `files_changed.txt`, `agent.log`, `metrics.json`, `validation_report.json`, the
 * checks' outputs, `TASK_SUMMARY.md`), AGENT_CONTEXT.md, and `task.json`. A failed task leaves what
 * it has: its uncommitted work is committed on its branch and bundled too, so people can pick it
 * up, but the integrate job merges only completed tasks.
 */
import { copyFile, cp, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CONTEXT_FILE, collectTask } from '../../engine/collect/collect.js';
import type { TaskRun } from '../../engine/state/schema.js';
import type { Logger } from '../../engine/ports/logger.js';
import { git } from '../../engine/workspace/git-exec.js';
import type { GitIdentity } from '../../engine/workspace/identity.js';
import { pathExists } from '../../engine/path-exists.js';
import {
  BUNDLE_FILE,
  artifactName,
  writeTaskFile,
  type LegStatus,
  type TaskFile,
} from '../task-file.js';

export interface BundleInput {
  root: string;
  executionId: string;
  run: TaskRun;
  baseSha: string;
  status: LegStatus;
  reason: string | null;
  bundleDir: string;
  identity: GitIdentity;
  logger: Logger;
}

export async function writeTaskBundle(input: BundleInput): Promise<TaskFile> {
  const { run } = input;
  await rm(input.bundleDir, { recursive: true, force: true });
  await mkdir(input.bundleDir, { recursive: true });
  // A failed task's `head_sha` is its branch tip at the failure, not a collection: what the agent
  // left uncommitted is still to be taken.
  if (run.status === 'failed') await collectPartialWork(input);
  if (await pathExists(run.output_dir)) {
    await cp(run.output_dir, input.bundleDir, { recursive: true, verbatimSymlinks: true });
  }
  if (await pathExists(join(run.worktree, CONTEXT_FILE))) {
    await copyFile(join(run.worktree, CONTEXT_FILE), join(input.bundleDir, CONTEXT_FILE));
  }
  const head = run.head_sha ?? (await branchHead(input.root, run.branch)) ?? input.baseSha;
  const bundled = await bundleBranch(input.root, run.branch, input.baseSha, head, input.bundleDir);
  const file: TaskFile = {
    version: 1,
    execution_id: input.executionId,
    task_id: run.task_id,
    agent: run.agent,
    branch: run.branch,
    base_sha: input.baseSha,
    head_sha: head,
    bundle: bundled ? BUNDLE_FILE : null,
    status: input.status,
    reason: input.reason,
    started_at: run.started_at,
    finished_at: run.finished_at,
    attempts: run.attempts,
    run: portable(run),
  };
  await writeTaskFile(input.bundleDir, file);
  return file;
}

/**
 * A failed agent's uncommitted work, committed on its branch the way collection does it (the
 * replicated configuration, `.env` above all, stays out: nothing untracked in the checkout is
 * taken), with the diff and metrics written beside the log.
 */
async function collectPartialWork(input: BundleInput): Promise<void> {
  const { run } = input;
  if (run.start_sha === null || !(await pathExists(run.worktree))) return;
  try {
    const collected = await collectTask({
      worktree: run.worktree,
      taskId: run.task_id,
      taskTitle: run.task,
      agent: run.agent,
      startSha: run.start_sha,
      identity: input.identity,
      keepOut: await untrackedInCheckout(input.root),
      outputDir: run.output_dir,
      logFile: run.log_file,
      durationMs: 0,
      inputTokens: null,
      outputTokens: null,
      costUsd: null,
      agentSummary: null,
    });
    run.head_sha = collected.headSha;
    run.metrics = collected.metrics;
  } catch (error) {
    input.logger.warn('could not collect the failed task’s work', {
      task: run.task_id,
      error: (error as Error).message,
    });
  }
}

/** Untracked and ignored paths of the checkout (folders as one entry): what replication copies from. */
async function untrackedInCheckout(root: string): Promise<string[]> {
  const { stdout } = await git(root, ['ls-files', '--others', '--directory', '-z']);
  return stdout
    .split('\0')
    .filter(Boolean)
    .map((path) => path.replace(/\/$/, ''));
}

async function branchHead(root: string, branch: string): Promise<string | null> {
  const result = await git(
    root,
    ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`],
    {
      allowExitCodes: [1, 128],
    },
  );
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** `git bundle create` refuses an empty bundle: a branch with no commit of its own gets none. */
async function bundleBranch(
  root: string,
  branch: string,
  base: string,
  head: string,
  dir: string,
): Promise<boolean> {
  if (head === base) return false;
  const count = await git(root, ['rev-list', '--count', `${base}..${head}`]);
  if (Number(count.stdout.trim()) === 0) return false;
  await git(root, [
    'bundle',
    'create',
    '--quiet',
    join(dir, BUNDLE_FILE),
    `refs/heads/${branch}`,
    `^${base}`,
  ]);
  return true;
}

/** The task's record with paths that mean something off this machine: inside the artifact. */
function portable(run: TaskRun): TaskRun {
  const artifact = artifactName(run.task_id);
  return {
    ...run,
    worktree: '',
    pid: null,
    log_file: `${artifact}/agent.log`,
    output_dir: artifact,
    validation:
      run.validation === null
        ? null
        : {
            ...run.validation,
            checks: run.validation.checks.map((check) => ({
              ...check,
              outputFile:
                check.outputFile === null ? null : `${artifact}/${basename(check.outputFile)}`,
            })),
          },
  };
}
