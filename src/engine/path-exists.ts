import { lstat, stat } from 'node:fs/promises';

/**
 * Whether something is at `path` (any error reading it counts as nothing). A symbolic link counts
 * as what it points to, unless `followLinks` is false: then a dangling link is there too, which is
 * what clean-up needs to see to remove it.
 */
export async function pathExists(
  path: string,
  options: { followLinks?: boolean } = {},
): Promise<boolean> {
  try {
    await (options.followLinks === false ? lstat(path) : stat(path));
    return true;
  } catch {
    return false;
  }
}
