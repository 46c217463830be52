/**
 * Where a run's report is committed: `<report.dir>/<execution-id>.md`, inside the repository.
 * One rule for every shell; the config parser applies it too, so a `report.dir` that would leave
 * the repository is refused when the config is read, at its line.
 */
import { posix } from 'node:path';

/** The configured folder, `/`-separated and without `./` or a trailing `/` (`''`: the root). */
export function reportFolder(dir: string): string {
  const clean = posix.normalize(dir.split('\\').join('/')).replace(/\/+$/, '');
  return clean === '.' ? '' : clean;
}

/** Why `dir` cannot hold reports (it leaves the repository), or null when it can. */
export function reportDirProblem(dir: string): string | null {
  const slashed = dir.split('\\').join('/');
  const clean = reportFolder(dir);
  if (slashed.startsWith('/') || /^[A-Za-z]:\//.test(slashed)) {
    return `${dir} is outside the repository (an absolute path)`;
  }
  if (clean === '..' || clean.startsWith('../')) return `${dir} is outside the repository`;
  return null;
}

export const REPORT_DIR_HINT =
  'Set report.dir to a folder inside the repository, relative to its root, e.g. reports.';

/**
 * `<folder>/<execution>.md`, or — when the branch already holds it (a later wave of the same
 * execution, committed on the same integration branch) — `<folder>/<execution>-wave-<n>.md`.
 * `taken` says whether a repository-relative path is already there.
 */
export function reportPathIn(
  folder: string,
  executionId: string,
  taken: (path: string) => boolean = () => false,
): string {
  const at = (name: string) => (folder === '' ? name : `${folder}/${name}`);
  let path = at(`${executionId}.md`);
  for (let wave = 2; taken(path); wave += 1) path = at(`${executionId}-wave-${wave}.md`);
  return path;
}
