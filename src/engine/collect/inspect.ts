import { join } from 'node:path';
import { pathExists } from '../path-exists.js';
import { git } from '../workspace/git-exec.js';

export interface InspectInput {
  worktree: string;
  startSha: string;
  /** Paths the tool itself put in the worktree (context, summary, copied configuration). */
  toolPaths: readonly string[];
}

const LISTED = 10;

/**
 * Before a finished task's work is committed and handed to integration: is what the agent left
 * fit to merge? Each problem is a sentence that says what, where and what to do; any problem fails
 * the task (its worktree and branch are kept), because committing it would land broken or empty
 * work on the integration branch with a ✅ next to it.
 */
export async function inspectWorktree(input: InspectInput): Promise<string[]> {
  // A merge or rebase half done makes every other answer meaningless (HEAD may be detached
  // mid-rebase, files hold conflict markers): stop at that.
  const unfinished = await unfinishedOperation(input.worktree);
  if (unfinished !== null) return [unfinished];
  // Below its start, the branch's diff says nothing about what the agent did.
  const lost = await startLost(input.worktree, input.startSha);
  if (lost !== null) return [lost];
  // Untracked files, once for both checks below.
  const others = await git(input.worktree, ['ls-files', '--others', '--exclude-standard', '-z']);
  const untracked = others.stdout.split('\0').filter(Boolean);
  const problems: string[] = [];
  problems.push(...(await nestedRepositories(input.worktree, input.startSha, untracked)));
  const markers = await conflictMarkers(input, untracked);
  if (markers !== null) problems.push(markers);
  return problems;
}

interface Operation {
  /** What `git rev-parse --git-path` names when it is in progress. */
  marker: string;
  what: string;
  how: string;
}

const OPERATIONS: readonly Operation[] = [
  { marker: 'rebase-merge', what: 'a rebase', how: 'git rebase --continue or git rebase --abort' },
  {
    marker: 'rebase-apply',
    what: 'a rebase (or git am)',
    how: 'git rebase --continue / git am --continue, or --abort',
  },
  { marker: 'MERGE_HEAD', what: 'a merge', how: 'commit the resolution, or git merge --abort' },
  {
    marker: 'CHERRY_PICK_HEAD',
    what: 'a cherry-pick',
    how: 'git cherry-pick --continue or git cherry-pick --abort',
  },
  { marker: 'REVERT_HEAD', what: 'a revert', how: 'git revert --continue or git revert --abort' },
  { marker: 'BISECT_LOG', what: 'a bisect', how: 'git bisect reset' },
];

/** A merge, rebase, cherry-pick, revert or bisect in progress, or paths left unmerged. */
async function unfinishedOperation(worktree: string): Promise<string | null> {
  // In a linked worktree these live in its private git dir, not in `.git/`: ask git where.
  const paths = await git(worktree, [
    'rev-parse',
    '--path-format=absolute',
    ...OPERATIONS.flatMap((op) => ['--git-path', op.marker]),
  ]);
  const located = paths.stdout.split('\n');
  let operation: Operation | null = null;
  for (const [i, op] of OPERATIONS.entries()) {
    const path = located[i];
    if (path !== undefined && path !== '' && (await pathExists(path))) {
      operation = op;
      break;
    }
  }
  const unmerged = await unmergedPaths(worktree);
  if (operation === null && unmerged.length === 0) return null;
  const files = unmerged.length > 0 ? ` (unmerged paths: ${list(unmerged)})` : '';
  const what = operation === null ? 'unresolved conflicts' : `${operation.what} in progress`;
  const how = operation === null ? 'resolve them and commit' : operation.how;
  return `the agent left ${what} in its worktree ${worktree}${files}; nothing of it was committed or merged. To recover the work by hand, finish or abort it there (${how}); or retry the task (parallel-executor resume <execution> --retry-failed)`;
}

async function unmergedPaths(worktree: string): Promise<string[]> {
  const { stdout } = await git(worktree, ['ls-files', '--unmerged', '-z']);
  const paths = stdout
    .split('\0')
    .filter(Boolean)
    .map((record) => record.slice(record.indexOf('\t') + 1));
  return [...new Set(paths)];
}

/** The agent moved its branch below where it started (`git reset --hard HEAD~1`, a rebase onto an older commit). */
async function startLost(worktree: string, startSha: string): Promise<string | null> {
  const contained = await git(worktree, ['merge-base', '--is-ancestor', startSha, 'HEAD'], {
    allowExitCodes: [1, 128],
  });
  if (contained.exitCode === 0) return null;
  return `the branch no longer contains its start commit ${startSha.slice(0, 12)} (the agent reset or rebased it below where the task started, e.g. git reset --hard HEAD~1): merging it would not bring the task's work, nor undo what it dropped. Look at the worktree ${worktree} and the kept ref, then retry the task`;
}

/**
 * A git repository inside the worktree (an agent ran `git init` or `git clone` there) is not
 * files to git but a link to a commit that exists only inside it: merged, it would land as a
 * dangling gitlink and its content would vanish with the worktree. Found untracked, staged or
 * committed; a submodule declared in .gitmodules is what the user asked for and passes.
 */
async function nestedRepositories(
  worktree: string,
  startSha: string,
  others: readonly string[],
): Promise<string[]> {
  // Untracked: `ls-files --others` names a nested repository as a directory (`sub/`), never its files.
  const untracked = others.filter((path) => path.endsWith('/'));
  const declared = await declaredSubmodules(worktree);
  const linked = (await newGitlinks(worktree, startSha)).filter((path) => !declared.has(path));
  const problems: string[] = [];
  if (untracked.length > 0) {
    problems.push(
      `the agent left a nested git repository in its worktree (${list(untracked)}): committed, it would be a link to commits that exist only there, and its files would be lost with the worktree. In ${worktree}, make its files plain files (remove its .git) or a declared submodule, or delete it; then retry`,
    );
  }
  if (linked.length > 0) {
    problems.push(
      `the agent committed a link to a nested git repository (gitlink, not declared in .gitmodules): ${list(linked)}; merged, it would point to commits that exist nowhere else. In ${worktree}, replace it by plain files (git rm --cached <path>, remove <path>/.git, git add <path>) or declare a submodule; then retry`,
    );
  }
  return problems;
}

/** Gitlinks (mode 160000) in the index, committed or staged, that the start commit did not have. */
async function newGitlinks(worktree: string, startSha: string): Promise<string[]> {
  // The index against the start covers the agent's commits and what it staged alike.
  const { stdout } = await git(worktree, [
    'diff-index',
    '--cached',
    '--raw',
    '-z',
    '--no-renames',
    startSha,
    '--',
  ]);
  const fields = stdout.split('\0');
  const links: string[] = [];
  // `:<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0` per entry.
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode] = fields[i]!.slice(1).split(' ');
    if (newMode === '160000' && oldMode !== '160000') links.push(fields[i + 1]!);
  }
  return links;
}

async function declaredSubmodules(worktree: string): Promise<Set<string>> {
  const file = join(worktree, '.gitmodules');
  if (!(await pathExists(file))) return new Set();
  const result = await git(
    worktree,
    ['config', '--file', file, '-z', '--get-regexp', '^submodule\\..*\\.path$'],
    { allowExitCodes: [1] },
  );
  return new Set(
    result.stdout
      .split('\0')
      .filter(Boolean)
      .map((record) => record.slice(record.indexOf('\n') + 1)),
  );
}

const MARKER = '^(<<<<<<<|>>>>>>>)( |$)';

/**
 * Conflict markers the task added: files whose worktree version (committed or not, untracked
 * included) has more marker lines than at the start. Counting against the start leaves alone a
 * file that always had them (a test fixture, docs about git).
 */
async function conflictMarkers(
  input: InspectInput,
  untracked: readonly string[],
): Promise<string | null> {
  const paths = await changedSinceStart(input.worktree, input.startSha, untracked);
  if (paths !== null && paths.length === 0) return null;
  const now = await markerCounts(input.worktree, [], paths);
  if (now.size === 0) return null;
  const before = await markerCounts(input.worktree, [input.startSha], paths);
  const tool = new Set(input.toolPaths);
  const added = [...now]
    .filter(([path, count]) => !tool.has(path) && count > (before.get(path) ?? 0))
    .map(([path]) => path)
    .sort();
  if (added.length === 0) return null;
  return `conflict markers (<<<<<<< / >>>>>>> lines) in files the task changed: ${list(added)}; a conflict was left unresolved. Resolve them in ${input.worktree}, or retry the task`;
}

/** Above this many changed files, the whole tree is searched (the command line stays short). */
const MAX_LISTED_PATHS = 500;

/**
 * The files that can have gained markers: changed since the start (committed or not) and
 * untracked. Searching only these, not the whole tree, matters in a big repository. Null: too
 * many to list.
 */
async function changedSinceStart(
  worktree: string,
  startSha: string,
  untracked: readonly string[],
): Promise<string[] | null> {
  const changed = await git(worktree, [
    'diff',
    '--name-only',
    '-z',
    '--no-renames',
    '--diff-filter=d',
    startSha,
    '--',
  ]);
  const paths = [...changed.stdout.split('\0').filter(Boolean), ...untracked];
  return paths.length > MAX_LISTED_PATHS ? null : paths;
}

/**
 * Per path, the marker lines git grep counts in the worktree (no tree) or in a commit, in
 * `paths` (null: everywhere).
 */
async function markerCounts(
  worktree: string,
  tree: string[],
  paths: readonly string[] | null,
): Promise<Map<string, number>> {
  const scope = tree.length === 0 ? ['--untracked'] : [];
  const only = (paths ?? []).map((path) => `:(top,literal)${path}`);
  const result = await git(
    worktree,
    ['grep', ...scope, '-I', '-z', '-c', '-E', MARKER, ...tree, '--', ...only],
    { allowExitCodes: [1] },
  );
  const counts = new Map<string, number>();
  const prefix = tree.length === 0 ? '' : `${tree[0]}:`;
  for (const line of result.stdout.split('\n')) {
    const cut = line.lastIndexOf('\0');
    if (cut === -1) continue;
    counts.set(line.slice(prefix.length, cut), Number(line.slice(cut + 1)));
  }
  return counts;
}

function list(paths: readonly string[]): string {
  const shown = paths.slice(0, LISTED).join(', ');
  return paths.length > LISTED ? `${shown}, +${paths.length - LISTED} more` : shown;
}
