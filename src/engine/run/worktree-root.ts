import { relative, sep } from 'node:path';
import { git } from '../workspace/git-exec.js';
import { TOOL_DIR } from '../workspace/repo.js';
import type { PreflightCheck } from './preflight.js';

/**
 * Worktrees must not dirty the user's checkout: outside the repository, under the tool's own
 * (excluded) folder, or in a folder git already ignores.
 */
export async function worktreeRootCheck(repoRoot: string, root: string): Promise<PreflightCheck> {
  const rel = relative(repoRoot, root);
  const outside = rel.startsWith(`..${sep}`) || rel === '..' || rel.startsWith(sep);
  if (outside || rel === TOOL_DIR || rel.startsWith(`${TOOL_DIR}${sep}`)) {
    return { name: 'worktrees', level: 'ok', detail: root, hint: null };
  }
  const ignored = await git(repoRoot, ['check-ignore', '-q', '--no-index', '--', `${rel}/`], {
    allowExitCodes: [1],
  });
  if (rel !== '' && ignored.exitCode === 0) {
    return { name: 'worktrees', level: 'ok', detail: `${root} (ignored by git)`, hint: null };
  }
  return {
    name: 'worktrees',
    level: 'fail',
    detail: `${root} is inside the repository and not ignored: worktrees would dirty your checkout`,
    hint: 'Set workspace.root outside the repository, under .parallel-executor/, or in a git-ignored folder.',
  };
}
