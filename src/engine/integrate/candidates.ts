import { UsageError } from '../errors.js';

export interface IntegrationCandidate {
  taskId: string;
  agent: string;
  /** The task's local branch, by its short name (merged as `refs/heads/<branch>`). */
  branch: string;
  /**
   * Task ids this task depends on. Among the candidates, a dependent's branch contains its
   * dependency's commits, so it is merged after it and dropped with it. Ids that are not
   * candidates (earlier groups, already in the base) only matter to the caller.
   */
  dependsOn: string[];
}

/**
 * Plan order, except that a candidate always comes after the candidates it depends on (stable:
 * among those ready, the earliest in the plan goes first).
 */
export function orderCandidates(
  candidates: readonly IntegrationCandidate[],
): IntegrationCandidate[] {
  const ids = new Set<string>();
  for (const candidate of candidates) {
    if (ids.has(candidate.taskId)) {
      throw new UsageError(
        `task ${candidate.taskId} is listed twice for integration`,
        'Pass each task once.',
      );
    }
    ids.add(candidate.taskId);
  }
  const placed = new Set<string>();
  const ordered: IntegrationCandidate[] = [];
  while (ordered.length < candidates.length) {
    const next = candidates.find(
      (candidate) =>
        !placed.has(candidate.taskId) &&
        candidate.dependsOn.every((dep) => !ids.has(dep) || placed.has(dep)),
    );
    if (next === undefined) {
      const stuck = candidates.filter((candidate) => !placed.has(candidate.taskId));
      throw new UsageError(
        `tasks ${stuck.map((candidate) => candidate.taskId).join(', ')} depend on each other in a cycle`,
        'Fix the plan so its dependencies form no cycle.',
      );
    }
    placed.add(next.taskId);
    ordered.push(next);
  }
  return ordered;
}

/** Every candidate that depends on `taskId`, directly or through other candidates. */
export function dependentsOf(
  taskId: string,
  candidates: readonly IntegrationCandidate[],
): IntegrationCandidate[] {
  const found = new Set<string>([taskId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const candidate of candidates) {
      if (found.has(candidate.taskId)) continue;
      if (candidate.dependsOn.some((dep) => found.has(dep))) {
        found.add(candidate.taskId);
        grew = true;
      }
    }
  }
  return candidates.filter(
    (candidate) => candidate.taskId !== taskId && found.has(candidate.taskId),
  );
}
