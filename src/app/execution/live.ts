/**
 * What this process knows of the executions it started or has seen, ahead of GitHub while
 * check-run and dashboard writes trail: the record, the summary and each task's check run as it
 * will be written. Progress events and dashboard redraws read it instead of listing check runs
 * again; decisions that must agree across restarts and replicas (a run's end, a new start) still
 * read GitHub and then `adopt` what is known here. Lost on a restart: GitHub has it all.
 */
import type { ResolvedExecution } from './resolve.js';

export class LiveExecutions {
  readonly #byId = new Map<string, ResolvedExecution>();
  readonly #limit: number;

  constructor(limit = 500) {
    this.#limit = limit;
  }

  get(repository: string, executionId: string): ResolvedExecution | null {
    return this.#byId.get(`${repository}:${executionId}`) ?? null;
  }

  /** The execution whose current wave runs as `runId` on `sha`. */
  byRun(repository: string, sha: string, runId: number): ResolvedExecution | null {
    for (const [key, execution] of this.#byId) {
      if (
        key.startsWith(`${repository}:`) &&
        execution.record.sha === sha &&
        execution.record.run === runId
      )
        return execution;
    }
    return null;
  }

  put(repository: string, execution: ResolvedExecution): ResolvedExecution {
    const key = `${repository}:${execution.record.execution}`;
    this.#byId.delete(key);
    this.#byId.set(key, execution);
    if (this.#byId.size > this.#limit) this.#byId.delete(this.#byId.keys().next().value!);
    return execution;
  }

  /**
   * Take `fresh` (read from GitHub) as the execution, keeping what this process knows better: a
   * task check run not written yet (id 0), or one further along. Returns the object to work on.
   */
  adopt(repository: string, fresh: ResolvedExecution): ResolvedExecution {
    const known = this.get(repository, fresh.record.execution);
    if (!known) return this.put(repository, fresh);
    // The run of the current wave may be known here before the record on GitHub says it.
    const run =
      fresh.record.run === null && known.record.wave === fresh.record.wave
        ? { run: known.record.run, runUrl: known.record.runUrl }
        : {};
    known.record = { ...fresh.record, ...run };
    known.summary = fresh.summary;
    for (const [taskId, check] of fresh.checks) {
      const mine = known.checks.get(taskId);
      if (!mine || (mine.id === 0 && rank(check) >= rank(mine)) || rank(check) > rank(mine)) {
        known.checks.set(taskId, check);
      } else if (mine.id === 0) {
        known.checks.set(taskId, { ...mine, id: check.id });
      }
    }
    for (const [taskId, check] of fresh.repairs ?? []) {
      const mine = known.repairs?.get(taskId);
      if (!mine || rank(check) > rank(mine)) (known.repairs ??= new Map()).set(taskId, check);
    }
    return this.put(repository, known);
  }
}

function rank(check: { status: string }): number {
  return check.status === 'completed' ? 2 : check.status === 'in_progress' ? 1 : 0;
}
