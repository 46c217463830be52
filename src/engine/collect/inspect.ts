import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError } from '../errors.js';
import { pathExists } from '../path-exists.js';
import { git } from '../workspace/git-exec.js';
import { hidingEntries, markedEntry, type MarkedEntry } from '../workspace/marked-entries.js';

export interface InspectInput {
  worktree: string;
  startSha: string;
  /** Paths the tool itself put in the worktree (context, summary, copied configuration). */
  toolPaths: readonly string[];
}

const LISTED = 10;

/** HEAD as inspection saw it, so that collection need not ask git again. */
export interface SeenHead {
  sha: string;
  /** `refs/heads/<branch>`, or `HEAD` when detached. */
  ref: string;
}

export interface Inspection {
  /** Each a sentence; any one fails the task. */
  problems: string[];
  /** Null when git could not name it (an unborn branch, a file called HEAD). */
  head: SeenHead | null;
  /** HEAD, the index and the worktree (ignored files aside) all as at the start: nothing to collect. */
  unchanged: boolean;
  /**
   * HEAD moved in the worktree other than by commits on top of each other (a reset, a checkout,
   * an amend, a rebase): commits the agent made may be off its branch now.
   */
  wandered: boolean;
  /**
   * The worktree's HEAD reflog is gone or empty: something expired it (`git reflog expire
   * --expire=now --all`, often with `git gc --prune=now`), so commits the agent dropped can no
   * longer be found, and may be pruned already.
   */
  reflogGone: boolean;
  /**
   * The tool's paths `git add --all` would see (tracked, or untracked and not ignored): those the
   * collection's commit must leave out. The others are ignored (or absent) and left out anyway.
   */
  addableToolPaths: string[];
}

/**
 * Before a finished task's work is committed and handed to integration: is what the agent left
 * fit to merge? Each problem is a sentence that says what, where and what to do; any problem fails
 * the task (its worktree and branch are kept), because committing it would land broken or empty
 * work on the integration branch with a ✅ next to it.
 */
export async function inspectWorktree(input: InspectInput): Promise<Inspection> {
  // Few processes: every task ends with this, many at once, each spawn costs the main thread.
  // The three at once (the index's diff is only read if nothing below stops first; it writes
  // nothing): one round of git before the answer, not two.
  const indexing = indexAgainstStart(input.worktree, input.startSha);
  indexing.catch(() => undefined);
  let seen: [Located, Listed];
  try {
    seen = await Promise.all([
      locate(input.worktree),
      listFiles(input.worktree, new Set(input.toolPaths)),
    ]);
  } catch (error) {
    const damaged = damagedGitDir(input.worktree, error);
    if (damaged === null) throw error;
    return {
      problems: [damaged],
      head: null,
      unchanged: false,
      wandered: false,
      reflogGone: false,
      addableToolPaths: [],
    };
  }
  const [located, listed] = seen;
  const reflog = await readFile(located.reflog, 'utf8').catch(() => null);
  const wandered = headWandered(reflog);
  const reflogGone = reflog === null || reflog.trim() === '';
  const result = (problems: string[], unchanged = false): Inspection => ({
    problems,
    head: located.head,
    unchanged,
    wandered,
    reflogGone,
    addableToolPaths: listed.tools,
  });
  // A merge or rebase half done makes every other answer meaningless (HEAD may be detached
  // mid-rebase, files hold conflict markers): stop at that.
  const unfinished = await unfinishedOperation(input.worktree, located.operations, listed.unmerged);
  if (unfinished !== null) return result([unfinished]);
  // Below its start, the branch's diff says nothing about what the agent did.
  const lost =
    located.head?.sha === input.startSha ? null : await startLost(input.worktree, input.startSha);
  if (lost !== null) return result([lost]);
  const indexed = await indexing;
  const problems: string[] = [];
  // The tool's own files are never committed anyway: marked or not, they are no one's work.
  const tool = new Set(input.toolPaths);
  const flagged = listed.flagged.filter((entry) => !tool.has(entry.path));
  const hidden = await hiddenChanges(input.worktree, flagged);
  if (hidden !== null) problems.push(hidden);
  problems.push(...(await nestedRepositories(input.worktree, listed.untracked, indexed.gitlinks)));
  // What can differ from the start in the worktree: in the index, modified since, or untracked.
  const changed = [...new Set([...indexed.changed, ...listed.modified, ...listed.untracked])];
  const markers = await conflictMarkers(input, changed);
  if (markers !== null) problems.push(markers);
  const unchanged =
    located.head?.sha === input.startSha && indexed.entries === 0 && changed.length === 0;
  // Work to commit, and git would refuse to (`git add` fails): say why, rather than git's error.
  if (!unchanged && (await pathExists(located.indexLock))) {
    problems.push(
      `git's index in the worktree ${input.worktree} is locked (${located.indexLock} exists: a git command the agent started crashed, or is still running), so its work cannot be committed; nothing of it was committed or merged. Make sure no git runs there, remove ${located.indexLock}, then resume; or retry the task`,
    );
  }
  return result(problems, unchanged);
}

/**
 * Git takes the worktree for no repository although its `.git` names its own git folder (checked
 * before collection): that folder was damaged (its HEAD overwritten, say). Null for other errors.
 */
function damagedGitDir(worktree: string, error: unknown): string | null {
  if (!(error instanceof GitError)) return null;
  const gitDir = /not a git repository: (.+)$/m.exec(error.stderr)?.[1]?.trim();
  if (gitDir === undefined) return null;
  return `git no longer takes the worktree ${worktree} for a repository: its git folder ${gitDir} is damaged (its HEAD file overwritten with something that is neither a branch nor a commit, say), so nothing in it was committed or merged; the commits the agent made on its branch are there. To recover the rest by hand, write "ref: refs/heads/<the task's branch>" into ${gitDir}/HEAD and look at the worktree; or retry the task (parallel-executor resume <execution> --retry-failed)`;
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

interface Located {
  /** Per OPERATIONS entry, where its marker would be. */
  operations: string[];
  /** Where git's lock on the worktree's index would be. */
  indexLock: string;
  /** The worktree's HEAD reflog. */
  reflog: string;
  head: SeenHead | null;
}

/** Where the operations' markers and the index lock live, and HEAD: one rev-parse. */
async function locate(worktree: string): Promise<Located> {
  // In a linked worktree the markers live in its private git dir, not in `.git/`: ask git where.
  const markers = [...OPERATIONS.map((op) => op.marker), 'index.lock', 'logs/HEAD'];
  const paths = ['--path-format=absolute', ...markers.flatMap((marker) => ['--git-path', marker])];
  const both = await git(
    worktree,
    ['rev-parse', ...paths, 'HEAD', '--symbolic-full-name', 'HEAD'],
    {
      allowExitCodes: [128],
    },
  );
  const located = (lines: string[], head: SeenHead | null): Located => ({
    operations: lines.slice(0, OPERATIONS.length),
    indexLock: lines[OPERATIONS.length]!,
    reflog: lines[OPERATIONS.length + 1]!,
    head,
  });
  if (both.exitCode === 0) {
    const lines = both.stdout.split('\n');
    const [sha, ref] = lines.slice(markers.length);
    if (sha && ref) return located(lines, { sha, ref });
  }
  // HEAD named nothing (an unborn branch, or a file called HEAD): the paths alone.
  const alone = await git(worktree, ['rev-parse', ...paths]);
  return located(alone.stdout.split('\n'), null);
}

/**
 * Whether HEAD's reflog (read as a file: no git process) shows more than the worktree's creation,
 * commits each on top of the last (`commit:`, `commit (merge):`) and moves to where HEAD already
 * was. Anything else (a reset, a checkout, an amend, a rebase, a gap) may have left commits behind.
 */
function headWandered(text: string | null): boolean {
  if (text === null) return false;
  let previous: string | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [old, now] = line.split(' ');
    const message = line.slice(line.indexOf('\t') + 1);
    const first = previous === null && /^0+$/.test(old!);
    const committed = /^commit( \((merge|initial)\))?: /.test(message);
    if (!first && (old !== previous || (now !== old && !committed))) return true;
    previous = now!;
  }
  return false;
}

interface Listed {
  untracked: string[];
  /** Unmerged paths, each once. */
  unmerged: string[];
  /** Tracked paths whose worktree file differs from the index (or is gone). */
  modified: string[];
  /** Entries git was told not to look at in the worktree: `git ls-files` never lists them as modified. */
  flagged: MarkedEntry[];
  /** The tool's paths among those listed (tracked, or untracked and not ignored). */
  tools: string[];
}

/**
 * Untracked, unmerged, modified and flagged files from one `ls-files`, each record tagged: `-c`
 * lists every entry, so that entries marked assume-unchanged (`-v`: lower case) or skip-worktree
 * (`S`) show; unmerged ones come tagged `M` (once per stage).
 */
async function listFiles(worktree: string, toolPaths: ReadonlySet<string>): Promise<Listed> {
  const { stdout } = await git(worktree, [
    'ls-files',
    '-t',
    '-v',
    '--cached',
    '--others',
    '--exclude-standard',
    '--modified',
    '-z',
  ]);
  const listed: Listed = { untracked: [], unmerged: [], modified: [], flagged: [], tools: [] };
  // `<tag> <path>`: `H` tracked, `?` untracked, `M` unmerged, `C` modified, `S` skip-worktree;
  // a lower-case tag: the entry is marked assume-unchanged.
  for (const record of stdout.split('\0')) {
    if (record === '') continue;
    const tag = record.slice(0, 2);
    const path = record.slice(2);
    if (toolPaths.has(path)) listed.tools.push(path);
    if (tag === 'H ') continue;
    if (tag === '? ') listed.untracked.push(path);
    else if (tag === 'M ' || tag === 'm ') listed.unmerged.push(path);
    else if (tag === 'C ') listed.modified.push(path);
    const marked = markedEntry(record);
    if (marked !== null) listed.flagged.push(marked);
  }
  listed.unmerged = [...new Set(listed.unmerged)];
  listed.modified = [...new Set(listed.modified)];
  listed.tools = [...new Set(listed.tools)];
  return listed;
}

/** A merge, rebase, cherry-pick, revert or bisect in progress, or paths left unmerged. */
async function unfinishedOperation(
  worktree: string,
  located: readonly string[],
  unmerged: readonly string[],
): Promise<string | null> {
  let operation: Operation | null = null;
  for (const [i, op] of OPERATIONS.entries()) {
    const path = located[i];
    if (path !== undefined && path !== '' && (await pathExists(path))) {
      operation = op;
      break;
    }
  }
  if (operation === null && unmerged.length === 0) return null;
  const files = unmerged.length > 0 ? ` (unmerged paths: ${list(unmerged)})` : '';
  const what = operation === null ? 'unresolved conflicts' : `${operation.what} in progress`;
  const how = operation === null ? 'resolve them and commit' : operation.how;
  return `the agent left ${what} in its worktree ${worktree}${files}; nothing of it was committed or merged. To recover the work by hand, finish or abort it there (${how}); or retry the task (parallel-executor resume <execution> --retry-failed)`;
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
 * Edits git was told not to see (`git update-index --assume-unchanged` or `--skip-worktree` on a
 * file the agent then changed or deleted): `git add --all` skips them, so they would be neither
 * committed nor merged, and would go with the worktree. A skip-worktree file absent from the
 * worktree is a sparse checkout's, not a change. Unchanged flagged files pass.
 */
async function hiddenChanges(
  worktree: string,
  flagged: readonly MarkedEntry[],
): Promise<string | null> {
  if (flagged.length === 0) return null;
  const found = (await hidingEntries(worktree, flagged)).map(({ path, stats }) => ({
    path,
    file: stats !== null && stats.isFile() && !path.includes('\n'),
  }));
  // Gone, or not a plain file (a symlink, a folder): changed, as far as this check can tell.
  const hidden = found.filter((entry) => !entry.file).map((entry) => entry.path);
  const files = found.filter((entry) => entry.file).map((entry) => entry.path);
  if (files.length > 0) {
    // The worktree's content as git would store it (its filters applied), against the index's.
    // Paths through stdin, one a line (none holds a newline): any number of them.
    const lines = files.join('\n');
    const [staged, hashed] = await Promise.all([
      // `:<path>` is the index's entry at stage 0.
      git(worktree, ['cat-file', '--batch-check=%(objectname)'], {
        input: `${files.map((path) => `:${path}`).join('\n')}\n`,
      }),
      git(worktree, ['hash-object', '--stdin-paths'], { input: `${lines}\n` }),
    ]);
    const before = staged.stdout.split('\n');
    const now = hashed.stdout.split('\n');
    hidden.push(...files.filter((_, i) => before[i] !== now[i]));
  }
  if (hidden.length === 0) return null;
  return `the agent hid changes from git in its worktree ${worktree}: ${list(hidden.sort())} (marked with git update-index --assume-unchanged or --skip-worktree, which git add skips); nothing of them was committed or merged. To keep them, in ${worktree} run git update-index --no-assume-unchanged -- <file> and git update-index --no-skip-worktree -- <file> for each (one flag at a time: given both, git clears only the first) and commit them, then resume; or retry the task`;
}

/**
 * A git repository inside the worktree (an agent ran `git init` or `git clone` there) is not
 * files to git but a link to a commit that exists only inside it: merged, it would land as a
 * dangling gitlink and its content would vanish with the worktree. Found untracked, staged or
 * committed; a submodule declared in .gitmodules is what the user asked for and passes.
 */
async function nestedRepositories(
  worktree: string,
  others: readonly string[],
  gitlinks: readonly string[],
): Promise<string[]> {
  // Untracked: `ls-files --others` names a nested repository as a directory (`sub/`), never its files.
  const untracked = others.filter((path) => path.endsWith('/'));
  if (untracked.length === 0 && gitlinks.length === 0) return [];
  const declared = await declaredSubmodules(worktree);
  const linked = gitlinks.filter((path) => !declared.has(path));
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

interface Indexed {
  /** Gitlinks (mode 160000), committed or staged, that the start commit did not have. */
  gitlinks: string[];
  /** Paths whose index entry differs from the start, deletions left out. */
  changed: string[];
  /** How many entries differ, deletions included. */
  entries: number;
}

/**
 * The index against the start: it covers the agent's commits and what it staged alike. (Not the
 * worktree: a gitlink committed and then its folder deleted is still in the index and the commits.)
 */
async function indexAgainstStart(worktree: string, startSha: string): Promise<Indexed> {
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
  const indexed: Indexed = { gitlinks: [], changed: [], entries: 0 };
  // `:<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0` per entry.
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode, , , status] = fields[i]!.slice(1).split(' ');
    const path = fields[i + 1]!;
    if (newMode === '160000' && oldMode !== '160000') indexed.gitlinks.push(path);
    if (status !== 'D') indexed.changed.push(path);
    indexed.entries += 1;
  }
  return indexed;
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
  changed: readonly string[],
): Promise<string | null> {
  if (changed.length === 0) return null;
  // Searching only these, not the whole tree, matters in a big repository; too many to list: all.
  const paths = changed.length > MAX_LISTED_PATHS ? null : changed;
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
  // `<path>\0<count>\n` per file; a path may hold a newline (never a NUL), so not split by lines.
  for (const [, path, count] of result.stdout.matchAll(/([^\0]*)\0(\d+)\n/g)) {
    counts.set(path!.slice(prefix.length), Number(count));
  }
  return counts;
}

function list(paths: readonly string[]): string {
  const shown = paths.slice(0, LISTED).join(', ');
  return paths.length > LISTED ? `${shown}, +${paths.length - LISTED} more` : shown;
}
