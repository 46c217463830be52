import path from 'node:path';
import {
  cleanupExecution,
  type CleanupItem,
  type CleanupResult,
} from '../../engine/cleanup/cleanup.js';
import {
  findExecution,
  isExecutionFinished,
  isExecutionRunning,
  listExecutions,
} from '../../engine/run/executions.js';
import { mainWorktree } from '../../engine/workspace/worktree-list.js';
import { findRepoRoot } from '../../engine/workspace/repo.js';
import { readConfig } from '../run-settings.js';
import { acquireRepoLock } from '../../engine/workspace/repo-lock.js';
import { STATE_FILE, writeStateAtomic } from '../../engine/monitor/state-store.js';
import { agentEnvironment } from '../run-settings.js';
import { GitError, ParallelExecutorError, UsageError } from '../../engine/errors.js';
import type { ExecutionState } from '../../engine/state/schema.js';
import { EXIT_FAILED, EXIT_OK, type CliIo, type Command } from '../io.js';
import { parseOptions } from '../main.js';

const HELP = `Usage: parallel-executor clean [ID] [--all-finished] [--force] [--only-merged] [--json]

Remove what a finished execution left: archive each task's log and outputs under
.parallel-executor/executions/ID/archives/, remove its worktree, delete its branch when merged;
the same for each repair attempt's worktree and branch (\`<task branch>-repair\`).
Tasks that failed, were cancelled, conflicted or were dropped keep their worktree, branch and log.

  ID               the execution (default: the latest)
  --all-finished   every completed, failed or cancelled execution
  --force          also remove kept worktrees and logs, and delete unmerged branches
  --only-merged    clean only tasks whose branch is merged
  --json           print the result as JSON
`;

interface Skipped {
  id: string;
  reason: string;
}

export const cleanCommand: Command = async (argv, io) => {
  const { values, positionals } = parseOptions(argv, {
    'all-finished': { type: 'boolean' },
    force: { type: 'boolean' },
    'only-merged': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 1)
    throw new UsageError(`clean takes one execution id, got ${positionals.length}`);
  const id = positionals[0];
  const allFinished = values['all-finished'] ?? false;
  if (id !== undefined && allFinished)
    throw new UsageError('give an execution id or --all-finished, not both');
  const repoRoot = await repositoryRoot(io.cwd);
  const options = {
    force: values.force ?? false,
    onlyMerged: values['only-merged'] ?? false,
    ...(await configuredPool(repoRoot)),
  };
  // Never beside a run or resume: their worktrees are in use, and git's own bookkeeping
  // (worktree add/prune) is not safe to run concurrently.
  const lock = await acquireRepoLock(repoRoot, {
    command: 'clean',
    executionId: null,
    pid: process.pid,
  });
  try {
    return await cleanLocked(io, repoRoot, {
      id,
      allFinished,
      json: values.json ?? false,
      options,
    });
  } finally {
    await lock.release();
  }
};

interface CleanRequest {
  id: string | undefined;
  allFinished: boolean;
  json: boolean;
  options: { force: boolean; onlyMerged: boolean; pool?: number };
}

async function cleanLocked(io: CliIo, repoRoot: string, request: CleanRequest): Promise<number> {
  const { id, allFinished, options } = request;

  const targets: { dir: string; state: ExecutionState }[] = [];
  const skipped: Skipped[] = [];
  if (allFinished) {
    for (const entry of await listExecutions(repoRoot)) {
      if (entry.state === null) skipped.push({ id: entry.id, reason: entry.error ?? 'unreadable' });
      else if (!isExecutionFinished(entry.state) || isExecutionRunning(entry.state)) {
        skipped.push({ id: entry.id, reason: `not finished (${entry.state.status})` });
      } else targets.push({ dir: entry.dir, state: entry.state });
    }
  } else {
    const found = await findExecution(repoRoot, id);
    if (isExecutionRunning(found.state)) {
      const pid = found.state.orchestrator_pid ?? '?';
      throw new ParallelExecutorError(
        `execution ${found.state.execution_id} is still running (orchestrator pid ${pid})`,
        `wait for it to finish, or stop it (Ctrl-C in its terminal, or kill ${pid}), then clean again`,
      );
    }
    if (!isExecutionFinished(found.state) && !options.force) {
      // Its tasks or its integration are still to run: cleaning now would take what resume needs.
      const id = found.state.execution_id;
      throw new ParallelExecutorError(
        `execution ${id} did not finish (${found.state.status}): its orchestrator stopped before the end`,
        `continue it with \`parallel-executor resume ${id}\`, or clean it anyway with --force`,
      );
    }
    targets.push(found);
  }

  const env = agentEnvironment(io.env);
  const results: CleanupResult[] = [];
  for (const target of targets) {
    const result = await cleanupExecution(target.state, {
      repoRoot,
      executionDir: target.dir,
      env,
      ...options,
    });
    // The refs that now hold removed work are named in the state, as in the output.
    if (result.keptRefs.length > 0)
      await writeStateAtomic(path.join(target.dir, STATE_FILE), target.state);
    results.push(result);
  }
  if (request.json)
    io.stdout.write(`${JSON.stringify({ executions: results, skipped }, null, 2)}\n`);
  else writeText(io, results, skipped, repoRoot);
  return results.some((result) => result.errors > 0) ? EXIT_FAILED : EXIT_OK;
}

/**
 * The config's `workspace.pool`: clean parks worktrees in the pool (and cuts it to that size) as
 * a run's clean-up does. A config that does not parse leaves the pool as it is: cleaning must not
 * depend on it.
 */
async function configuredPool(repoRoot: string): Promise<{ pool?: number }> {
  const config = await readConfig(repoRoot).catch(() => null);
  return config === null ? {} : { pool: config.workspace.pool };
}

/** The main worktree: executions live there even when the command runs in a linked worktree. */
async function repositoryRoot(cwd: string): Promise<string> {
  try {
    return await mainWorktree(await findRepoRoot(cwd));
  } catch (error) {
    if (error instanceof GitError) {
      throw new UsageError(
        `${cwd} is not inside a git repository`,
        'run clean from the repository the execution ran in',
      );
    }
    throw error;
  }
}

function writeText(
  io: CliIo,
  results: CleanupResult[],
  skipped: Skipped[],
  repoRoot: string,
): void {
  const out = (line: string) => io.stdout.write(`${line}\n`);
  if (results.length === 0) out('Nothing to clean.');
  for (const result of results) {
    out(`Execution ${result.executionId}:`);
    const shown = result.items.filter((item) => item.action !== 'absent');
    for (const item of shown) out(`  ${itemLine(item, repoRoot)}`);
    const absent = result.items.length - shown.length;
    const archives = result.archives.filter((entry) => entry.archive !== null).length;
    const removed = result.items.filter((item) => item.action === 'removed').length;
    const kept = result.items.filter((item) => item.action === 'kept').length;
    const summary = [`${removed} removed`, `${kept} kept`];
    if (absent > 0) summary.push(`${absent} already gone`);
    if (result.errors > 0) summary.push(`${result.errors} failed`);
    out(
      `  ${summary.join(', ')}${archives > 0 ? `; ${archives} archive(s) in ${path.join(result.executionDir, 'archives')}` : ''}`,
    );
    for (const kept of result.keptRefs)
      out(`  saved   ${kept.ref} (${kept.taskId}: ${kept.why}; \`git log ${kept.ref}\`)`);
    if (kept > 0)
      out(
        `  Kept items are listed with the reason; \`parallel-executor clean ${result.executionId} --force\` removes them too.`,
      );
  }
  for (const entry of skipped) out(`Skipped ${entry.id}: ${entry.reason}`);
}

function itemLine(item: CleanupItem, repoRoot: string): string {
  const target = item.kind === 'branch' ? item.target : displayPath(item.target, repoRoot);
  return `${item.action.padEnd(7)} ${item.kind.padEnd(8)} ${target} (${ownerText(item)}: ${item.reason})`;
}

/** `2.2`, `2.2 repair attempt 1` for a repair's worktree or branch, or `integration`. */
function ownerText(item: CleanupItem): string {
  if (item.integration !== undefined)
    return item.integration === 'earlier' ? 'earlier integration' : 'integration';
  if (item.repair === undefined) return item.taskId;
  const attempt = item.repair.attempt === null ? '' : ` attempt ${item.repair.attempt}`;
  return `${item.taskId} repair${attempt}`;
}

function displayPath(file: string, repoRoot: string): string {
  const relative = path.relative(repoRoot, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative)
    ? file
    : relative;
}
