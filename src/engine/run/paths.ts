import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskRun } from '../state/schema.js';
import { pathExists } from '../path-exists.js';
import { STATE_FILE } from '../monitor/state-store.js';
import { TOOL_DIR } from '../workspace/repo.js';
import { slugify } from '../workspace/refs.js';

/** Where one execution keeps its files, under `<repo>/.parallel-executor/executions/<id>/`. */
export interface ExecutionPaths {
  dir: string;
  stateFile: string;
  /** The parsed plan as it was when the execution started; resume runs from it. */
  planSnapshot: string;
  logsDir: string;
  outputsDir: string;
  statusDir: string;
  messagesDir: string;
  /** How the execution was started (settings, and what the shell chose to keep); resume reads it. */
  runRecord: string;
}

export function executionsDir(repoRoot: string): string {
  return join(repoRoot, TOOL_DIR, 'executions');
}

export function executionPaths(repoRoot: string, executionId: string): ExecutionPaths {
  const dir = join(executionsDir(repoRoot), executionId);
  return {
    dir,
    stateFile: join(dir, STATE_FILE),
    planSnapshot: join(dir, 'plan.json'),
    logsDir: join(dir, 'logs'),
    outputsDir: join(dir, 'outputs'),
    statusDir: join(dir, 'status'),
    messagesDir: join(dir, 'messages'),
    runRecord: join(dir, 'run.json'),
  };
}

export function defaultWorktreeRoot(repoRoot: string): string {
  return join(repoRoot, TOOL_DIR, 'worktrees');
}

/** Per-task file names (logs, outputs, status files): safe, distinct, and the same on resume. */
export function taskFileKeys(taskIds: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const used = new Set<string>();
  for (const id of taskIds) {
    const base = slugify(id, 40) || 'task';
    let key = base;
    for (let n = 2; used.has(key); n += 1) key = `${base}-${n}`;
    used.add(key);
    keys.set(id, key);
  }
  return keys;
}

/** The key a task's log and output folder were named with (`taskFileKeys`). */
export function fileKeyOf(run: TaskRun): string {
  return run.output_dir.split(/[\\/]/).pop()!;
}

/**
 * Where what a task's worktree holds that no ref can keep (a nested repository) is moved:
 * `<execution>/kept/<task>/<what>`, or `<what>-2`, `-3`… when an earlier move took that name.
 * Nothing removes this folder.
 */
export async function keptFolderOf(
  executionDir: string,
  run: TaskRun,
  what: string,
): Promise<string> {
  const base = join(executionDir, 'kept', fileKeyOf(run), what);
  let folder = base;
  for (let n = 2; await pathExists(folder, { followLinks: false }); n += 1) folder = `${base}-${n}`;
  return folder;
}

/** The inbox folder name of an agent: the plan writes `Builder-1`, the folder is `builder-1`. */
export function agentKey(agent: string): string {
  return slugify(agent, 40) || 'agent';
}

/** `exec_YYYYMMDD_HHMMSS` (UTC) — the seed's form. */
export function executionIdFor(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `exec_${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/**
 * Claim a new execution folder. mkdir without `recursive` fails when the folder exists, so two
 * runs started in the same second get different ids (`_2`, `_3`…) without racing.
 */
export async function claimExecutionId(repoRoot: string, date: Date): Promise<string> {
  await mkdir(executionsDir(repoRoot), { recursive: true });
  const base = executionIdFor(date);
  for (let n = 1; ; n += 1) {
    const id = n === 1 ? base : `${base}_${n}`;
    try {
      await mkdir(executionPaths(repoRoot, id).dir);
      return id;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
