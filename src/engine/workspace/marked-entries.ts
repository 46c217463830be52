import { lstat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

/**
 * An index entry git was told not to look at in the worktree (`git update-index
 * --assume-unchanged` or `--skip-worktree`): `git add` skips it, and `git ls-files -m` never lists
 * it, so an edit there is hidden from git.
 */
export interface MarkedEntry {
  path: string;
  /** `--skip-worktree` (a sparse checkout's absent files have it too); else `--assume-unchanged`. */
  skipWorktree: boolean;
}

/**
 * The entry a `git ls-files -t -v` record names, when it is marked: `h` (a tracked file marked
 * assume-unchanged: `-v` writes its tag in lower case), `S` or `s` (skip-worktree). Else null.
 */
export function markedEntry(record: string): MarkedEntry | null {
  const tag = record.slice(0, 2);
  if (tag !== 'h ' && tag !== 'S ' && tag !== 's ') return null;
  return { path: record.slice(2), skipWorktree: tag !== 'h ' };
}

/**
 * The marked entries that can hide an edit, each with its file's lstat (null: gone): every
 * assume-unchanged one, and the skip-worktree ones whose file is in the worktree (one that is
 * absent is a sparse checkout's, not a change).
 */
export async function hidingEntries(
  worktree: string,
  marked: readonly MarkedEntry[],
): Promise<Array<MarkedEntry & { stats: Stats | null }>> {
  const found = await Promise.all(
    marked.map(async (entry) => ({
      ...entry,
      stats: await lstat(join(worktree, entry.path)).catch(() => null),
    })),
  );
  return found.filter((entry) => entry.stats !== null || !entry.skipWorktree);
}
