/**
 * git for the job that holds the write token and must run nothing from the repository or the
 * agents: no hooks (`core.hooksPath` pointed at nothing, so not even `reference-transaction` on a
 * fetch), no fsmonitor, objects received from a bundle checked (`transfer.fsckObjects`). It only
 * fetches, inspects and pushes refs: nothing is checked out, so no `.gitattributes` filter, smudge
 * driver or textconv ever applies.
 */
import { CONFIG_FILES } from '../../engine/config/locate.js';
import { git, type GitOptions, type GitResult } from '../../engine/workspace/git-exec.js';

export const HARDENED_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'transfer.fsckObjects=true',
] as const;

export function safeGit(
  cwd: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<GitResult> {
  return git(cwd, [...HARDENED_CONFIG, ...args], options);
}

/**
 * The paths that differ between two commits under `.github/workflows/`, and the tool's own config
 * (names only: no filter runs). The config is guarded like a workflow: a later wave checks out the
 * integration branch and every job of it, the publish job included, reads the config there as
 * this repository's settings (`github.allowWorkflowChanges`, the workflow it dispatches, branch
 * prefixes, agent commands), so an agent that wrote it would set the rules of the jobs that hold
 * the tokens.
 */
export async function workflowChanges(root: string, from: string, to: string): Promise<string[]> {
  const { stdout } = await safeGit(root, [
    'diff-tree',
    '-r',
    '-z',
    '--name-only',
    '--no-renames',
    from,
    to,
    '--',
    '.github/workflows',
    ...CONFIG_FILES,
  ]);
  return stdout.split('\0').filter((path) => path.length > 0);
}

export const WORKFLOW_CHANGE_REASON = 'changes workflow files';
export const CONFIG_CHANGE_REASON = 'changes the parallel-executor config';

export function workflowChangeProblem(paths: readonly string[]): string {
  const config = paths.filter((path) => CONFIG_FILES.includes(path));
  if (config.length > 0) {
    return `${CONFIG_CHANGE_REASON} (${config.join(', ')}): the next wave's jobs, the publishing one included, would read it as this repository's settings; set github.allowWorkflowChanges: true in .github/parallel-executor.yml to integrate such tasks`;
  }
  const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? ', …' : '');
  return `${WORKFLOW_CHANGE_REASON} (${shown}): GitHub refuses such a push without the workflows permission; set github.allowWorkflowChanges: true in .github/parallel-executor.yml, with a token that has it, to integrate such tasks`;
}

/** Plans are far smaller: a bigger file at the plan's path is not read. */
const PLAN_LIMIT = 4 * 1024 * 1024;

/**
 * The plan's text at a commit (`path` `/`-separated), read as a blob (no filter runs); null when it
 * is not there or bigger than a plan is.
 */
export async function planBlobAt(
  root: string,
  commit: string,
  path: string,
): Promise<string | null> {
  const spec = `${commit}:${path}`;
  const size = await safeGit(root, ['cat-file', '-s', spec], { allowExitCodes: [128] });
  if (size.exitCode !== 0 || !(Number(size.stdout.trim()) <= PLAN_LIMIT)) return null;
  return (await safeGit(root, ['cat-file', 'blob', spec])).stdout;
}
