import { spawn } from 'node:child_process';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ParallelExecutorError, PreflightError } from '../errors.js';
import { pathExists } from '../path-exists.js';
import type { ExecutionState, TaskRun } from '../state/schema.js';
import { orderedTasks } from '../report/outcome.js';
import { isInside } from '../workspace/worktree-list.js';

export interface ArchiveResult {
  taskId: string;
  /** The `.tar.gz` written (or already there), or null when there was nothing to archive. */
  archive: string | null;
  /** Absolute paths that went into it. */
  sources: string[];
  note: string;
}

/**
 * A `.tar.gz` per task of its log and output folder, under `<executionDir>/archives/`
 * (the seed's Step 5.2). Uses the system `tar` with an argument vector; entries are stored
 * relative to their folders. Running it again rewrites each archive from what is still there.
 */
export async function archiveTaskOutputs(
  state: ExecutionState,
  executionDir: string,
  options: { taskIds?: readonly string[] } = {},
): Promise<ArchiveResult[]> {
  const archivesDir = path.join(executionDir, 'archives');
  const names = archiveNames(orderedTasks(state));
  const wanted = options.taskIds === undefined ? null : new Set(options.taskIds);
  const results: ArchiveResult[] = [];
  for (const task of orderedTasks(state)) {
    if (wanted !== null && !wanted.has(task.task_id)) continue;
    const archive = path.join(archivesDir, names.get(task.task_id) ?? `${task.task_id}.tar.gz`);
    const sources = (await existingSources(task, executionDir)).filter(
      // A folder holding the archives themselves (a misconfigured output_dir) is never archived.
      (source) => source !== archivesDir && !isInside(archivesDir, source),
    );
    if (sources.length === 0) {
      const already = await pathExists(archive);
      results.push({
        taskId: task.task_id,
        archive: already ? archive : null,
        sources: [],
        note: already ? 'already archived' : 'no log or output to archive',
      });
      continue;
    }
    await mkdir(archivesDir, { recursive: true });
    await writeTarGz(archive, sources);
    results.push({ taskId: task.task_id, archive, sources, note: 'archived' });
  }
  return results;
}

/** Where a task's log and outputs are: absolute, or relative to the execution folder. */
export function taskOutputPaths(task: TaskRun, executionDir: string): string[] {
  const paths = [task.output_dir, task.log_file]
    .filter((value) => value.trim() !== '')
    .map((value) => path.resolve(executionDir, value));
  return [...new Set(paths)];
}

async function existingSources(task: TaskRun, executionDir: string): Promise<string[]> {
  const candidates = taskOutputPaths(task, executionDir);
  const present: string[] = [];
  for (const candidate of candidates) if (await pathExists(candidate)) present.push(candidate);
  // A log inside the output folder is already in the archive through the folder.
  return present.filter(
    (candidate) => !present.some((other) => other !== candidate && isInside(candidate, other)),
  );
}

/** `2.1_builder-1.tar.gz`: file-name safe, unique within the execution. */
function archiveNames(tasks: readonly TaskRun[]): Map<string, string> {
  const names = new Map<string, string>();
  const used = new Set<string>();
  for (const task of tasks) {
    const base = `${safeName(task.task_id)}_${safeName(task.agent)}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    names.set(task.task_id, `${name}.tar.gz`);
  }
  return names;
}

function safeName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return cleaned.slice(0, 60) || 'task';
}

/** Write to a temporary name, then rename: a crash never leaves a truncated archive behind. */
async function writeTarGz(archive: string, sources: readonly string[]): Promise<void> {
  const partial = `${archive}.partial`;
  // `-C dir ./name` per source: entries are relative, and a name starting with `-` is not an option.
  const args = ['-czf', partial];
  for (const source of sources) args.push('-C', path.dirname(source), `./${path.basename(source)}`);
  try {
    await runTar(args, path.dirname(archive));
    await rename(partial, archive);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

function runTar(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          new PreflightError(
            'tar was not found on PATH',
            'install tar (it ships with git for Windows and every Unix)',
          ),
        );
        return;
      }
      reject(error);
    });
    child.on('close', (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      const message = Buffer.concat(stderr)
        .toString('utf8')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ');
      reject(
        new ParallelExecutorError(
          `tar ${args.join(' ')} failed (exit ${code ?? 'signal'}): ${message}`,
        ),
      );
    });
  });
}
