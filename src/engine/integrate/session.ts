import type { Logger } from '../ports/logger.js';
import { dependentsOf, orderCandidates, type IntegrationCandidate } from './candidates.js';
import { collidedWith } from './conflicts.js';
import { mergeCandidate, mergeMessage } from './merge.js';
import { resetTo, resolveCommit, type RepoGit } from './repo.js';
import type { IntegrationProgress, IntegrationResult } from './schema.js';

/** One merged task: its branch tip and the integration commit its merge made. */
export interface ChainLink {
  candidate: IntegrationCandidate;
  sha: string;
  head: string;
}

/**
 * The integration branch being built: a chain of merge commits on top of the base, one per task
 * (so "the first k tasks" is just the k-th commit, which is what bisection walks), plus what was
 * dropped and why. Every method leaves the worktree clean at a complete merge commit.
 */
export class IntegrationSession {
  readonly chain: ChainLink[] = [];
  readonly conflicts: IntegrationResult['conflicts'] = [];
  readonly dropped: IntegrationResult['dropped'] = [];
  readonly notes: string[] = [];
  private readonly tips = new Map<string, string>();
  /** Test runs so far and the most still possible: set by the tests and the strategy. */
  testRun = 0;
  testRunsAtMost: number | null = null;
  /** The strategy says when it is searching for a culprit rather than testing the whole chain. */
  bisecting = false;

  constructor(
    readonly repo: RepoGit,
    readonly baseSha: string,
    /** In merge order: plan order with dependencies first. */
    readonly candidates: readonly IntegrationCandidate[],
    private readonly logger: Logger,
    private readonly signal?: AbortSignal,
    private readonly onProgress?: (progress: IntegrationProgress) => void,
  ) {}

  /** Tell the caller where the integration is (see IntegrationProgress). */
  progress(phase: IntegrationProgress['phase'], taskId: string | null = null): void {
    this.onProgress?.({
      phase: phase === 'testing' && this.bisecting ? 'bisecting' : phase,
      total: this.candidates.length,
      merged: this.chain.length,
      conflicts: this.conflicts.length,
      dropped: this.dropped.length,
      testRun: this.testRun,
      testRunsAtMost: this.testRunsAtMost,
      taskId,
    });
  }

  /** The strategy's bound on the test runs still to come, from now. */
  expectTestRuns(more: number): void {
    this.testRunsAtMost = this.testRun + more;
  }

  /**
   * Resolve every branch once, so the whole run sees the same commits; missing ones are dropped.
   * By full ref: a bare `v2` is the tag when a tag `v2` exists, and a task branch named
   * `refs/heads/main` (really `refs/heads/refs/heads/main`) would be read as `main`.
   */
  async resolveTips(): Promise<void> {
    for (const candidate of this.candidates) {
      const sha = await resolveCommit(this.repo, `refs/heads/${candidate.branch}`);
      if (sha === null) this.drop(candidate, `branch ${candidate.branch} not found`);
      else this.tips.set(candidate.taskId, sha);
    }
  }

  tipsOf(candidates: readonly IntegrationCandidate[]): { taskId: string; sha: string }[] {
    return candidates
      .filter((candidate) => !this.isDropped(candidate.taskId))
      .map((candidate) => ({ taskId: candidate.taskId, sha: this.tips.get(candidate.taskId)! }));
  }

  isDropped(taskId: string): boolean {
    return this.dropped.some((entry) => entry.taskId === taskId);
  }

  /** Task ids of the first `length` merged tasks. */
  idsOf(length: number): string[] {
    return this.chain.slice(0, length).map((link) => link.candidate.taskId);
  }

  /** The integration commit holding the first `length` merged tasks (0: the base). */
  commitAt(length: number): string {
    return length === 0 ? this.baseSha : this.chain[length - 1]!.head;
  }

  head(): string {
    return this.commitAt(this.chain.length);
  }

  /** Move the worktree (and the branch) to the first `length` merged tasks, without forgetting the rest. */
  async checkout(length: number): Promise<void> {
    await resetTo(this.repo, this.commitAt(length));
  }

  /** Forget every merge after the first `length` and go back there. */
  async truncate(length: number): Promise<IntegrationCandidate[]> {
    const removed = this.chain.splice(length).map((link) => link.candidate);
    await this.checkout(length);
    return removed;
  }

  /**
   * Put the merged tasks in `last` (and what is built on them) at the end of the chain after its
   * first `from` links, the others keeping their order, so that "everything but them" is one
   * prefix. Re-merges only when they are not there already. Returns the length of that prefix, or
   * null when it teaches nothing (none of them is after `from`, or nothing else is).
   */
  async moveLast(from: number, last: ReadonlySet<string>): Promise<number | null> {
    const moved = new Set<string>();
    for (const link of this.chain.slice(from)) {
      if (!last.has(link.candidate.taskId)) continue;
      moved.add(link.candidate.taskId);
      for (const dependent of dependentsOf(link.candidate.taskId, this.candidates)) {
        moved.add(dependent.taskId);
      }
    }
    const isMoved = (link: ChainLink) => moved.has(link.candidate.taskId);
    const first = this.chain.findIndex((link, i) => i >= from && isMoved(link));
    if (first === -1) return null;
    if (!this.chain.slice(first).every(isMoved)) {
      const rest = await this.truncate(first);
      const order = [
        ...rest.filter((c) => !moved.has(c.taskId)),
        ...rest.filter((c) => moved.has(c.taskId)),
      ];
      await this.mergeAll(orderCandidates(order));
    }
    const start = this.chain.findIndex((link, i) => i >= from && isMoved(link));
    return start === -1 || start === from ? null : start;
  }

  /**
   * Drop a task, and every candidate built on it: their branches contain its commits. Dependents
   * already dropped keep their first reason.
   */
  drop(candidate: IntegrationCandidate, reason: string, testOutput?: string): void {
    if (this.isDropped(candidate.taskId)) return;
    this.dropped.push({ taskId: candidate.taskId, reason, ...(testOutput ? { testOutput } : {}) });
    this.logger.warn('integration dropped a task', { taskId: candidate.taskId, reason });
    for (const dependent of dependentsOf(candidate.taskId, this.candidates)) {
      if (this.isDropped(dependent.taskId)) continue;
      this.dropped.push({
        taskId: dependent.taskId,
        reason: `depends on task ${candidate.taskId}, which was dropped (${reason})`,
      });
    }
  }

  noteBrokenBase(record: { run: number; outputFile: string }): void {
    this.notes.push(
      `The integration tests fail on the base commit ${this.baseSha.slice(0, 12)} itself ` +
        `(test run ${record.run}: ${record.outputFile}), so no branch is blamed: every branch ` +
        `that merged cleanly is kept. Fix the tests on the base, then integrate again.`,
    );
  }

  /** Merge the given candidates in order on top of the current head, skipping dropped ones. */
  async mergeAll(candidates: readonly IntegrationCandidate[]): Promise<void> {
    for (const candidate of candidates) await this.mergeOne(candidate);
  }

  /** True when merged; a conflict or a failed merge drops the task and leaves the head as it was. */
  async mergeOne(candidate: IntegrationCandidate): Promise<boolean> {
    this.signal?.throwIfAborted();
    if (this.isDropped(candidate.taskId)) return false;
    this.progress('merging', candidate.taskId);
    const sha = this.tips.get(candidate.taskId)!;
    const message = mergeMessage(candidate.taskId, candidate.agent, candidate.branch);
    const outcome = await mergeCandidate(this.repo, sha, message);
    if (outcome.kind === 'merged') {
      this.chain.push({ candidate, sha, head: outcome.head });
      this.logger.info('integration merged a task', { taskId: candidate.taskId });
      return true;
    }
    if (outcome.kind === 'failed') {
      this.drop(candidate, `merge failed: ${outcome.message}`);
      return false;
    }
    const merged = this.chain.map((link) => ({ taskId: link.candidate.taskId, sha: link.sha }));
    const others = await collidedWith(this.repo, sha, outcome.files, merged, this.baseSha);
    this.conflicts.push({ taskId: candidate.taskId, files: outcome.files, with: others });
    const withText = others.length > 0 ? ` with task ${others.join(', ')}` : '';
    this.drop(candidate, `merge conflict${withText} in ${outcome.files.join(', ')}`);
    return false;
  }
}
