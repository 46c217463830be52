import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { repoGit, type RepoGit } from '../integrate/repo.js';
import { unionAsThreeWay } from '../workspace/config-guard.js';
import { identityArgs, type GitIdentity } from '../workspace/identity.js';
import { freeBranchName, localBranches, slugify } from '../workspace/refs.js';
import { addWorktree, branchSha } from '../workspace/worktree.js';

/** A repair attempt's worktree: the integration head with the task's branch merged into it. */
export interface RepairWorkspace {
  worktree: string;
  branch: string;
  /** The integration head the attempt starts from. */
  base: string;
  /** The task branch's tip that was merged. */
  taskTip: string;
  /** Files left with conflict markers by the merge (the merge is then left in progress). */
  conflicted: string[];
  git: RepoGit;
}

export interface OpenRepairInput {
  repoRoot: string;
  /** Folder the worktree is made in (the execution's `worktrees/`). */
  dir: string;
  taskId: string;
  taskBranch: string;
  integrationHead: string;
  /**
   * The execution's base commit: whether the repository uses git's `union` merge is read there
   * (the integration head may hold a task's `.gitattributes`).
   */
  baseSha: string;
  env: Record<string, string>;
  identity: GitIdentity;
}

/**
 * A fresh worktree on a new branch `<task branch>-repair…` at the integration head, with the
 * task's branch merged into it. A conflict is not aborted: the merge stays in progress with the
 * markers in the files, which is what the agent is asked to resolve. Outside a run's config
 * guard (the Action's repair leg) git's `union` merge is a plain three-way one unless the
 * repository used it at the base, as in the integration: a task branch's `.gitattributes` naming
 * it would otherwise make the conflict the task was left out for merge as both sides' lines.
 */
export async function openRepairWorkspace(input: OpenRepairInput): Promise<RepairWorkspace> {
  const taskTip = await branchSha(input.repoRoot, input.taskBranch);
  if (taskTip === null) {
    throw new Error(`the branch ${input.taskBranch} of task ${input.taskId} is gone`);
  }
  const branch = await freeBranchName(
    input.repoRoot,
    `${input.taskBranch}-repair`,
    await localBranches(input.repoRoot),
  );
  await mkdir(input.dir, { recursive: true });
  const worktree = await mkdtemp(join(input.dir, `repair-${slugify(input.taskId, 30) || 'task'}-`));
  await addWorktree(input.repoRoot, worktree, branch, input.integrationHead);
  const git = repoGit(worktree, input.env, [
    ...identityArgs(input.identity),
    ...(await unionAsThreeWay(input.repoRoot, input.baseSha, input.env)),
  ]);
  const message = `Repair task ${input.taskId}: merge ${input.taskBranch} into the integration branch`;
  const merge = await git.run(['merge', '--no-ff', '--no-edit', '-m', message, taskTip], [1]);
  const unmerged = await git.run(['diff', '--name-only', '--diff-filter=U']);
  const conflicted = [...new Set(unmerged.stdout.split('\n').filter(Boolean))];
  if (merge.exitCode !== 0 && conflicted.length === 0) {
    throw new Error(
      `merging ${input.taskBranch} into the repair worktree failed: ${merge.stderr.trim()}`,
    );
  }
  return { worktree, branch, base: input.integrationHead, taskTip, conflicted, git };
}
