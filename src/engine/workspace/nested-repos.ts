import { readdirSync, type Dirent } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Folders below the top of `worktree` that hold a `.git` (a repository an agent made or cloned
 * there, with its own commits and files), up to `limit`, relative, `/`-separated. Symlinks are not
 * followed; a folder that cannot be read is passed over. Synchronous on purpose: a few
 * microseconds a folder this way, ten times more through the thread pool.
 */
export function nestedRepositories(worktree: string, limit = 5): string[] {
  const found: string[] = [];
  const visit = (rel: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(worktree, rel), { withFileTypes: true });
    } catch {
      return;
    }
    if (rel !== '' && entries.some((entry) => entry.name === '.git')) {
      found.push(rel);
      return;
    }
    for (const entry of entries) {
      if (found.length >= limit) return;
      if (!entry.isDirectory() || (rel === '' && entry.name === '.git')) continue;
      visit(rel === '' ? entry.name : `${rel}/${entry.name}`);
    }
  };
  visit('');
  return found;
}

/**
 * Move every nested repository out of `worktree` into `keep` (same relative paths), before the
 * worktree is reset for another attempt: no ref of the outer repository can keep their files, and
 * left in place the next attempt would work over them. Returns the paths moved; throws when one
 * could not be (another file system, say), having moved none after it.
 */
export async function moveNestedRepositories(worktree: string, keep: string): Promise<string[]> {
  const moved: string[] = [];
  for (let found = nestedRepositories(worktree); found.length > 0; ) {
    for (const rel of found) {
      const target = join(keep, rel);
      await mkdir(dirname(target), { recursive: true });
      await rename(join(worktree, rel), target);
      moved.push(rel);
    }
    found = nestedRepositories(worktree);
  }
  return moved;
}
