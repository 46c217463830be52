import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git-exec.js';
import { retryOnLock } from './worktree.js';

export interface WorktreeEntry {
  /** As git reports it. */
  path: string;
  /** `refs/heads/...`, or null when detached or bare. */
  branch: string | null;
  locked: boolean;
  main: boolean;
}

/**
 * `git worktree list --porcelain`, parsed. The first entry is the main worktree. It reads every
 * worktree's admin folder: `clean` lists before it takes the repository lock, so beside a run's
 * `git worktree add` (or removal) it meets a half-made one, and tries again.
 */
export async function listWorktrees(repoRoot: string): Promise<WorktreeEntry[]> {
  const { stdout } = await retryOnLock(() => git(repoRoot, ['worktree', 'list', '--porcelain']));
  const entries: WorktreeEntry[] = [];
  for (const block of stdout.split(/\n\n+/)) {
    const lines = block.split('\n').filter((line) => line !== '');
    const head = lines[0];
    if (head === undefined || !head.startsWith('worktree ')) continue;
    const branchLine = lines.find((line) => line.startsWith('branch '));
    entries.push({
      path: head.slice('worktree '.length),
      branch: branchLine === undefined ? null : branchLine.slice('branch '.length),
      locked: lines.some((line) => line === 'locked' || line.startsWith('locked ')),
      main: entries.length === 0,
    });
  }
  return entries;
}

/** The main worktree of the repository `cwd` is in (from a linked worktree too). */
export async function mainWorktree(cwd: string): Promise<string> {
  const [main] = await listWorktrees(cwd);
  if (main === undefined) {
    const { stdout } = await git(cwd, ['rev-parse', '--show-toplevel']);
    return stdout.trim();
  }
  return main.path;
}

/** Compare paths as the file system sees them (symlinked temp dirs, trailing slashes). */
export async function canonicalPath(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return path.resolve(file);
  }
}

/** Whether `child` is strictly below `parent` (both already canonical). */
export function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
