/**
 * Where a run's report is committed: `<report.dir>/<execution-id>.md`, inside the repository.
 * One rule for every shell. Which `report.dir` is acceptable is config/report-dir.ts's rule.
 */

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
