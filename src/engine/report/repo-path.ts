import { isAbsolute, relative, sep } from 'node:path';

/**
 * A path as the report shows it: relative to the repository, with `/`, because the report is
 * committed and posted, where the machine's own paths (`/tmp/…`, `/home/…`) mean nothing and
 * leak who ran it. A path outside the repository keeps only its last part.
 */
export function repoPath(repoRoot: string, path: string): string {
  if (!isAbsolute(path)) return path;
  const inside = relative(repoRoot, path);
  if (inside === '') return '.';
  if (inside.startsWith('..') || isAbsolute(inside)) return `…/${path.split(sep).pop() ?? ''}`;
  return inside.split(sep).join('/');
}
