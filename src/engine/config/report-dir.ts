/**
 * Which `report.dir` can hold reports: one rule for every shell; the config parser applies it, so
 * a folder that would leave the repository is refused when the config is read, at its line. Here
 * rather than in report/ because the config, below every step, must not import a step.
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
