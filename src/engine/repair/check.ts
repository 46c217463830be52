import { isTestFile } from '../integrate/risk/test-both.js';
import { retryOnLock } from '../workspace/worktree.js';
import type { RepairWorkspace } from './workspace.js';

/** A line git writes at the start or the end of a conflict hunk. */
const MARKERS = '^(<<<<<<<|>>>>>>>)( |$)';

/**
 * Whether the repair agent left something integration can take: the merge finished, the branch
 * checked out (HEAD only adding to it), what it left uncommitted committed (by the tool, as
 * collection does), both the integration head and the task's tip still in its history, and no
 * conflict marker in any file it changed. Returns the problem, or null.
 */
export async function checkRepairResult(ws: RepairWorkspace): Promise<string | null> {
  const { git } = ws;
  const merging = await git.run(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], [1]);
  if (merging.exitCode === 0) {
    return `the merge was left unfinished (conflicts in ${ws.conflicted.join(', ') || 'the files'} not committed)`;
  }
  const attached = await git.run(['symbolic-ref', '-q', 'HEAD'], [1]);
  if (attached.stdout.trim() !== `refs/heads/${ws.branch}`) {
    const tip = await git.text(['rev-parse', `refs/heads/${ws.branch}`]);
    if (!(await contains(ws, tip, 'HEAD'))) {
      return `the agent left the repair branch ${ws.branch} for a HEAD that lacks its commits`;
    }
    // Beside the other repair attempts' `git worktree add` (newer git's `checkout -B` reads every
    // worktree's admin folder, as a checkout of a branch does).
    await retryOnLock(() => git.run(['checkout', '-q', '-B', ws.branch, 'HEAD']));
  }
  const status = await git.run(['status', '--porcelain', '--untracked-files=all']);
  if (status.stdout.trim() !== '') {
    await git.run(['add', '-A']);
    await git.run([
      'commit',
      '-q',
      '--no-verify',
      '-m',
      'parallel-executor: what the repair agent left uncommitted',
    ]);
  }
  for (const [what, sha] of [
    ['the integration branch', ws.base],
    ["the task's branch", ws.taskTip],
  ] as const) {
    if (!(await contains(ws, sha, 'HEAD'))) return `the repair dropped commits of ${what}`;
  }
  const changed = (await git.text(['diff', '--name-only', '--no-renames', ws.base, 'HEAD']))
    .split('\n')
    .filter(Boolean);
  if (changed.length === 0) return null;
  const found = await git.run(['grep', '-l', '-E', MARKERS, 'HEAD', '--', ...changed], [1]);
  const files = found.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^HEAD:/, ''));
  return files.length > 0 ? `conflict markers were committed in ${files.join(', ')}` : null;
}

/**
 * An interaction repair starts with both tasks merged, so it has done its job only if it added
 * or changed a test (the test of the combination), besides any fix. Returns the problem, or null.
 */
export async function checkInteractionRepair(ws: RepairWorkspace): Promise<string | null> {
  const changed = (await ws.git.text(['diff', '--name-only', '--no-renames', ws.base, 'HEAD']))
    .split('\n')
    .filter(Boolean);
  if (changed.length === 0)
    return 'the interaction repair changed nothing (no test of the combination)';
  if (!changed.some(isTestFile)) {
    return `the interaction repair added no test of the combination (it changed ${changed.join(', ')})`;
  }
  return null;
}

async function contains(ws: RepairWorkspace, ancestor: string, head: string): Promise<boolean> {
  const result = await ws.git.run(['merge-base', '--is-ancestor', ancestor, head], [1]);
  return result.exitCode === 0;
}
