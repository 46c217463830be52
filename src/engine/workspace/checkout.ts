import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { readSmallFile } from '../small-file.js';
import { git } from './git-exec.js';
import { configFileEntries, excludePatterns, mayInclude } from './config-guard.js';
import { gitCommonDir, TOOL_DIR } from './repo.js';
import { worktreeRecords } from './worktree-admin.js';

/**
 * The user's checkout, in pieces that can be compared: where HEAD is, every branch and tag, the
 * stash, the repository's git config, and the main worktree's uncommitted and untracked files
 * (with their content's hash, so a file edited again is seen too). Taken at the start of a run
 * and after it, to name whatever an agent (or anything else) changed there.
 */
export interface CheckoutSnapshot {
  version: 1;
  /** `refs/heads/<branch>`, or null when HEAD is detached. */
  headRef: string | null;
  /** Null in a repository without commits. */
  headSha: string | null;
  /** `refs/heads/*` and `refs/tags/*` → the object they name. */
  refs: Record<string, string>;
  /** What annotated tags point at (tag ref → commit), for telling whose commit it is. */
  peeled: Record<string, string>;
  /** Stash entries, newest first: the list `git stash list` shows (the reflog of refs/stash). */
  stash: string[];
  /**
   * What refs/stash names (null: no stash). Not in `stash` when `git reflog expire` emptied the
   * list: no longer listed, yet still an entry that holds work (older stored snapshots lack it).
   */
  stashTop?: string | null;
  /**
   * The config file's path, its text, and its settings (`key=value`, in file order). The settings
   * are read only when two texts differ (compareCheckouts); older stored snapshots have them.
   */
  configFile: string;
  configText: string;
  config?: string[];
  /** Repository-relative path → `<XY status> <content hash or kind>`, the tool's folder left out. */
  files: Record<string, string>;
  /** Ignored files and folders (folders collapsed), the tool's folder left out. */
  ignored: string[];
  /**
   * The watched files that are not in `files` (ignored, or absent) → their content's hash or
   * kind: the configuration the tool copies into worktrees (`.env*`, `.claude/`), which it keeps
   * out of git, so that an edit of it is seen. Older stored snapshots lack it.
   */
  ignoredFiles?: Record<string, string>;
  /**
   * The repository's hooks (`.git/hooks`, samples left out): name → content hash. An agent that
   * runs `pre-commit install` or a package's postinstall there sets up code your next commit
   * runs. Older stored snapshots lack it.
   */
  hooks?: Record<string, string>;
  /**
   * Replace refs (`git replace`): object → its replacement. The tool reads past them, but the
   * user's git does not: a replaced commit changes their log, and their status when it is HEAD.
   * Older stored snapshots lack it.
   */
  replaced?: Record<string, string>;
  /**
   * The user's linked worktrees (`git worktree add ../other`; the tool's own left out): folder →
   * what it has out (`ref: refs/heads/<branch>` or a commit). Older stored snapshots lack it.
   */
  worktrees?: Record<string, string>;
  /**
   * Whether the checkout's `index.lock` is there: one an agent's git left behind (killed, or
   * written by hand) makes every later git that writes the index in the checkout refuse to run.
   * Older stored snapshots lack it.
   */
  indexLock?: boolean;
  /**
   * The text of `.git/info/attributes` and `.git/info/exclude` ('' when absent), which apply in
   * every worktree: attributes choose filters and merge drivers for every file, exclude patterns
   * hide files from `git add`. Older stored snapshots lack them.
   */
  infoAttributes?: string;
  infoExclude?: string;
  /**
   * The files the config's includes name (`include.path`, `includeIf.*.path`): path → content
   * hash, or `absent`. Their settings are the config's, and one can change while `.git/config`
   * stays the same. Read only when the config's text names an include; older stored snapshots
   * lack it.
   */
  included?: Record<string, string>;
}

export interface SnapshotOptions {
  env?: Record<string, string>;
  /** Repository-relative folders the tool itself writes (its worktree root when inside). */
  excludePaths?: readonly string[];
  /** The repository's common git directory, when the caller knows it already. */
  commonDir?: string;
  /**
   * Files whose content is kept even when git ignores them (not every ignored file: a build's,
   * an editor's or a dev server's would be named at every write).
   */
  watched?: readonly string[];
  /** Absolute folders whose worktrees are the tool's (its worktree root). */
  toolFolders?: readonly string[];
  /**
   * Folders inside `toolFolders` where a worktree an agent adds lands (`git worktree add ../x`
   * from a task's worktree makes it in the execution's folder of worktrees): one there is not
   * the tool's unless `toolWorktrees` names it.
   */
  agentFolders?: readonly string[];
  /** The tool's own worktrees in `agentFolders` (the tasks'). */
  toolWorktrees?: readonly string[];
}

export async function snapshotCheckout(
  repoRoot: string,
  options: SnapshotOptions = {},
): Promise<CheckoutSnapshot> {
  const run = async (args: string[], allow: number[] = []) =>
    (
      await git(repoRoot, ['--no-optional-locks', ...args], {
        env: options.env,
        allowExitCodes: allow,
      })
    ).stdout;
  const excluded = [TOOL_DIR, ...(options.excludePaths ?? [])].map((path) =>
    path.replace(/\/+$/, ''),
  );
  const kept = (path: string) =>
    !excluded.some((dir) => path === dir || path === `${dir}/` || path.startsWith(`${dir}/`));

  // Every read at once: one snapshot costs about one git call's time, not several in a row (the
  // watch takes one after agents end, while the next tasks wait to start).
  const configFile = join(
    options.commonDir ?? (await gitCommonDir(repoRoot, options.env)),
    'config',
  );
  const common = dirname(configFile);
  const toolFolders = [join(repoRoot, TOOL_DIR), ...(options.toolFolders ?? [])];
  const [head, refLines, configText, [files, ignoredFiles], ignored, hooks, worktrees, indexLock] =
    await Promise.all([
      headOf(run),
      run([
        'for-each-ref',
        '--format=%(refname) %(objectname) %(*objectname)',
        'refs/heads',
        'refs/tags',
        'refs/stash',
        'refs/replace',
      ]),
      readFile(configFile, 'utf8').catch(() => ''),
      fileStates(repoRoot, run, kept, options.watched ?? [], options.env),
      run(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory']).then(
        (out) =>
          out
            .split('\0')
            .filter((path) => path !== '' && kept(path))
            .sort(),
      ),
      hooksIn(join(common, 'hooks')),
      userWorktrees(common, toolFolders, options),
      lstat(join(common, 'index.lock')).then(
        () => true,
        () => false,
      ),
    ]);
  const refs: Record<string, string> = {};
  const peeled: Record<string, string> = {};
  const replaced: Record<string, string> = {};
  let stashTop: string | null = null;
  for (const line of refLines.split('\n').filter(Boolean)) {
    const [ref, sha, target] = line.split(' ');
    if (ref === 'refs/stash') stashTop = sha!;
    if (ref!.startsWith('refs/replace/')) replaced[ref!.slice('refs/replace/'.length)] = sha!;
    if (!ref!.startsWith('refs/heads/') && !ref!.startsWith('refs/tags/')) continue;
    refs[ref!] = sha!;
    if (target) peeled[ref!] = target;
  }
  // Most checkouts have no stash: its list is read only when there is one.
  const stashOut =
    stashTop !== null ? await run(['log', '-g', '--format=%H', 'refs/stash', '--'], [128]) : '';
  const stash = stashOut.split('\n').filter(Boolean);
  return {
    version: 1,
    headRef: head.ref,
    headSha: head.sha,
    refs,
    peeled,
    stash,
    stashTop,
    configFile,
    configText,
    files,
    ignored,
    ignoredFiles,
    hooks,
    replaced,
    worktrees,
    indexLock,
    included: await includedFiles(repoRoot, configFile, configText, options.env),
    infoAttributes: readSmallFile(join(common, 'info', 'attributes'), INFO_LIMIT)?.text ?? '',
    infoExclude: readSmallFile(join(common, 'info', 'exclude'), INFO_LIMIT)?.text ?? '',
  };
}

/** `.git/info/attributes` and `exclude` are small; a bigger one is read as absent. */
const INFO_LIMIT = 4 * 1024 * 1024;

/**
 * The linked worktrees git knows, read from their admin folders (`<common>/worktrees/<name>`:
 * `gitdir` names the folder, `HEAD` what it has out), those inside `toolFolders` left out, except
 * the ones in `agentFolders` that `toolWorktrees` does not name (an agent's own).
 */
async function userWorktrees(
  common: string,
  toolFolders: readonly string[],
  options: Pick<SnapshotOptions, 'agentFolders' | 'toolWorktrees'>,
): Promise<Record<string, string>> {
  const within = (folder: string, dirs: readonly string[]) =>
    dirs.some((dir) => folder === dir || folder.startsWith(`${dir}${sep}`));
  const tools = new Set(options.toolWorktrees ?? []);
  const found: Record<string, string> = {};
  for (const { admin, worktree: folder } of await worktreeRecords(common)) {
    // A small regular file only: an agent could put a FIFO there, whose read would never end.
    const head = readSmallFile(join(admin, 'HEAD'), 4096)?.text ?? null;
    if (head === null) continue;
    const agents = within(folder, options.agentFolders ?? []) && !tools.has(folder);
    if (agents || !within(folder, toolFolders)) found[folder] = head.trim();
  }
  return found;
}

const HOOK_BYTES = 1024 * 1024;

/** Each hook's content hash (a folder or unreadable entry by its kind); samples left out. */
async function hooksIn(dir: string): Promise<Record<string, string>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const hooks: Record<string, string> = {};
  for (const name of names.filter((n) => !n.endsWith('.sample')).sort()) {
    // Not a blocking read: an agent could put a FIFO there.
    const read = readSmallFile(join(dir, name), HOOK_BYTES);
    hooks[name] = read === null ? 'other' : createHash('sha1').update(read.text).digest('hex');
  }
  return hooks;
}

/** Where HEAD is: one rev-parse, or (no commit on it yet) the symbolic ref alone. */
async function headOf(run: Run): Promise<{ ref: string | null; sha: string | null }> {
  const both = (await run(['rev-parse', 'HEAD^{commit}', '--symbolic-full-name', 'HEAD'], [128]))
    .split('\n')
    .filter(Boolean);
  if (both.length === 2) return { sha: both[0]!, ref: both[1] === 'HEAD' ? null : both[1]! };
  const [ref, sha] = await Promise.all([
    run(['symbolic-ref', '-q', 'HEAD'], [1]),
    run(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], [1]),
  ]);
  return { ref: ref.trim() || null, sha: sha.trim() || null };
}

type Run = (args: string[], allow?: number[]) => Promise<string>;

/**
 * `git status` of the main worktree, each entry with its content's hash (or what it is); and the
 * watched files git status does not list (ignored, or absent), hashed in the same git call.
 */
async function fileStates(
  repoRoot: string,
  run: Run,
  kept: (path: string) => boolean,
  watched: readonly string[],
  env?: Record<string, string>,
): Promise<[Record<string, string>, Record<string, string>]> {
  const raw = await run([
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--no-renames',
  ]);
  const entries = raw
    .split('\0')
    .filter(Boolean)
    .map((entry) => ({ xy: entry.slice(0, 2), path: entry.slice(3) }))
    .filter((entry) => kept(entry.path));
  const listed = new Set(entries.map((entry) => entry.path));
  const others = watched.filter((path) => !listed.has(path));
  const kinds = await contentStates(repoRoot, [...listed, ...others], env);
  const files: Record<string, string> = {};
  for (const { xy, path } of entries) files[path] = `${xy} ${kinds.get(path)!}`;
  const ignoredFiles: Record<string, string> = {};
  for (const path of [...others].sort()) ignoredFiles[path] = kinds.get(path)!;
  return [files, ignoredFiles];
}

/** Larger files are known by size and time, not read: an untracked data file may be gigabytes. */
const HASHED_BYTES = 8 * 1024 * 1024;

/** Each path's content hash (or `absent`, `symlink`, `other`, `large <size> <mtime>`). */
async function contentStates(
  repoRoot: string,
  paths: readonly string[],
  env?: Record<string, string>,
): Promise<Map<string, string>> {
  const regular: string[] = [];
  const kinds = new Map<string, string>();
  for (const path of paths) {
    const stat = await lstat(join(repoRoot, path)).catch(() => null);
    if (stat === null) kinds.set(path, 'absent');
    else if (stat.isFile() && stat.size > HASHED_BYTES)
      kinds.set(path, `large ${stat.size} ${stat.mtimeMs}`);
    else if (stat.isFile() && !path.includes('\n')) regular.push(path);
    else kinds.set(path, stat.isSymbolicLink() ? 'symlink' : 'other');
  }
  const hashes =
    regular.length === 0
      ? []
      : (
          await git(repoRoot, ['hash-object', '--no-filters', '--stdin-paths'], {
            env,
            input: `${regular.join('\n')}\n`,
          })
        ).stdout
          .split('\n')
          .filter(Boolean);
  regular.forEach((path, i) => kinds.set(path, hashes[i] ?? 'unreadable'));
  return kinds;
}

/** One difference between two snapshots, in a sentence that names what changed. */
export interface CheckoutChange {
  /**
   * Stable identity: `HEAD`, `ref:<full ref>`, `replace:<object>`, `stash`, `config`,
   * `info:attributes`, `info:exclude`, `hook:<name>`, `worktree:<folder>`, `lock:index.lock`, `file:<path>`, `ignored:<path>`.
   */
  key: string;
  text: string;
  /** Commits the change brought in (a moved branch's new commits, a new tag's, a stash's base). */
  commits: string[];
  /** For files: the repository-relative path. */
  path?: string;
  /**
   * A new branch or tag takes nothing of the user's away (an agent's scratch branch in its own
   * worktree): named, but not a reason to fail a task. Everything else is.
   */
  addition?: boolean;
}

export interface CompareOptions {
  /** Refs the tool itself creates, moves or deletes (task and integration branches). */
  isToolRef: (ref: string) => boolean;
  /** Paths the tool itself writes in the checkout (the plan, with `--write-back working-tree`). */
  isToolPath?: (path: string) => boolean;
  env?: Record<string, string>;
}

/**
 * What differs between `before` and `after`, in the order HEAD, refs, replace refs, stash,
 * config, hooks, files.
 */
export async function compareCheckouts(
  repoRoot: string,
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  options: CompareOptions,
): Promise<CheckoutChange[]> {
  const changes: CheckoutChange[] = [];
  const headBranch = before.headRef === after.headRef ? after.headRef : null;
  if (
    before.headRef !== after.headRef ||
    (headBranch === null && before.headSha !== after.headSha)
  ) {
    changes.push({
      key: 'HEAD',
      text: `HEAD of your checkout changed from ${headName(before)} to ${headName(after)}`,
      commits: await newCommits(repoRoot, after.headSha, before, options.env),
    });
  }
  for (const [ref, was, now] of differing(before.refs, after.refs)) {
    if (options.isToolRef(ref)) continue;
    changes.push(await refChange(repoRoot, ref, was, now, before, after, headBranch, options.env));
  }
  changes.push(...(await replaceChanges(repoRoot, before, after, options.env)));
  const stash = stashChange(before, after);
  if (stash !== null) changes.push(await withStashBases(repoRoot, stash, before, options.env));
  if (before.configText !== after.configText) {
    const [was, now] = await Promise.all([
      configSettings(repoRoot, before, options.env),
      configSettings(repoRoot, after, options.env),
    ]);
    changes.push(configChange(after.configFile, was, now));
  }
  changes.push(...infoChanges(before, after));
  changes.push(...includedChanges(before, after));
  changes.push(...hookChanges(before, after));
  changes.push(...worktreeChanges(before, after));
  const lock = lockChange(before, after);
  if (lock !== null) changes.push(lock);
  const files = fileChanges(before, after, options.isToolPath ?? (() => false));
  changes.push(...(await underMovedHead(repoRoot, files, changes, before, after, options.env)));
  return changes;
}

/**
 * When the branch the checkout has out moved, git status there shows the new commits' files as
 * changed although nobody touched them: say so, and give them the move's commits (and culprit).
 */
async function underMovedHead(
  repoRoot: string,
  files: CheckoutChange[],
  changes: readonly CheckoutChange[],
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  env?: Record<string, string>,
): Promise<CheckoutChange[]> {
  const moved =
    before.headRef !== null && before.headRef === after.headRef
      ? changes.find((change) => change.key === `ref:${before.headRef}`)
      : undefined;
  if (moved === undefined || before.headSha === null || after.headSha === null) return files;
  const diff = await git(
    repoRoot,
    ['diff', '--name-only', '-z', '--no-renames', before.headSha, after.headSha],
    { env, allowExitCodes: [128] },
  );
  const touched = new Set(diff.stdout.split('\0').filter(Boolean));
  return files.map((change) =>
    change.path !== undefined && change.key.startsWith('file:') && touched.has(change.path)
      ? {
          ...change,
          text: `${change.text}, as git status sees it since branch ${shortRef(before.headRef!)} moved under it`,
          commits: moved.commits,
        }
      : change,
  );
}

function headName(snapshot: CheckoutSnapshot): string {
  const at = snapshot.headSha === null ? 'no commit' : short(snapshot.headSha);
  return snapshot.headRef === null
    ? `a detached HEAD at ${at}`
    : `${shortRef(snapshot.headRef)} at ${at}`;
}

async function refChange(
  repoRoot: string,
  ref: string,
  was: string | undefined,
  now: string | undefined,
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  headBranch: string | null,
  env?: Record<string, string>,
): Promise<CheckoutChange> {
  const tag = ref.startsWith('refs/tags/');
  const what = `${tag ? 'tag' : 'branch'} ${shortRef(ref)}`;
  const key = `ref:${ref}`;
  const target = (snapshot: CheckoutSnapshot, sha: string) => snapshot.peeled[ref] ?? sha;
  if (was === undefined) {
    const commits = await newCommits(repoRoot, target(after, now!), before, env);
    return {
      key,
      text: `${what} was created at ${short(target(after, now!))}`,
      commits,
      addition: true,
    };
  }
  if (now === undefined) {
    const restore = tag
      ? `git tag ${shortRef(ref)} ${short(was)}`
      : `git branch ${shortRef(ref)} ${short(was)}`;
    return {
      key,
      text: `${what} was deleted (it was at ${short(target(before, was))}; \`${restore}\` puts it back)`,
      commits: [],
    };
  }
  const commits = await newCommits(repoRoot, target(after, now), before, env);
  const dropped = tag ? 0 : await count(repoRoot, `${now}..${was}`, env);
  const added = commits.length > 0 ? `, ${commits.length} new commit(s) on it` : '';
  const lost = dropped > 0 ? `, ${dropped} commit(s) no longer on it (still in its reflog)` : '';
  const head =
    ref === headBranch
      ? '; it is the branch your checkout has out (HEAD), so git status there now shows those commits undone'
      : '';
  return {
    key,
    text: `${what} moved from ${short(target(before, was))} to ${short(target(after, now))}${added}${lost}${head}`,
    commits,
  };
}

/** Commits reachable from `sha` that no branch or tag of `before` reached (at most 200). */
async function newCommits(
  repoRoot: string,
  sha: string | null,
  before: CheckoutSnapshot,
  env?: Record<string, string>,
): Promise<string[]> {
  if (sha === null) return [];
  const known = [
    ...new Set([...Object.values(before.refs), ...Object.values(before.peeled), before.headSha]),
  ].filter((value): value is string => value !== null);
  const result = await git(repoRoot, ['rev-list', '--max-count=200', '--stdin'], {
    env,
    input: `${sha}\n${known.map((k) => `^${k}`).join('\n')}\n`,
    allowExitCodes: [128],
  });
  return result.exitCode === 0 ? result.stdout.split('\n').filter(Boolean) : [];
}

async function count(
  repoRoot: string,
  range: string,
  env?: Record<string, string>,
): Promise<number> {
  const result = await git(repoRoot, ['rev-list', '--count', range], {
    env,
    allowExitCodes: [128],
  });
  return result.exitCode === 0 ? Number(result.stdout.trim()) : 0;
}

async function replaceChanges(
  repoRoot: string,
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  env?: Record<string, string>,
): Promise<CheckoutChange[]> {
  if (before.replaced === undefined || after.replaced === undefined) return [];
  const changes: CheckoutChange[] = [];
  for (const [object, was, now] of differing(before.replaced, after.replaced)) {
    const undo =
      now === undefined
        ? `\`git replace ${short(object)} ${short(was!)}\` puts it back`
        : `\`git replace -d ${short(object)}\` undoes it`;
    const what =
      now === undefined
        ? `no longer shows ${short(was!)} in place of ${short(object)}`
        : `now shows ${short(now)} in place of ${short(object)} wherever your git reads it (log, diff, status)`;
    changes.push({
      key: `replace:${object}`,
      text: `a replace ref changed what your git shows: it ${what} (${undo})`,
      commits: now === undefined ? [] : await newCommits(repoRoot, now, before, env),
    });
  }
  return changes;
}

/**
 * The stash entries a snapshot holds: those listed, and the one refs/stash names when `git reflog
 * expire --expire=now --all` (an agent's clean-up) emptied the list and left the ref, an agent's
 * `git stash` of its work say, which is still to be kept.
 */
export function stashHeld(snapshot: CheckoutSnapshot): string[] {
  const top = snapshot.stashTop ?? null;
  return top === null || snapshot.stash.includes(top) ? snapshot.stash : [top, ...snapshot.stash];
}

/**
 * Entries held now that were not (new, even if no longer listed), and entries listed before that
 * are not listed now (gone from what `git stash list` shows, even if refs/stash still names one).
 */
export function stashDifference(
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
): { added: string[]; dropped: string[] } {
  const had = new Set(stashHeld(before));
  const has = new Set(after.stash);
  return {
    added: stashHeld(after).filter((sha) => !had.has(sha)),
    dropped: before.stash.filter((sha) => !has.has(sha)),
  };
}

function stashChange(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange | null {
  const { added, dropped } = stashDifference(before, after);
  if (added.length === 0 && dropped.length === 0) return null;
  const parts = [
    ...(added.length > 0
      ? [
          `${added.length} new stash entr${added.length === 1 ? 'y' : 'ies'} (${added.map(short).join(', ')})`,
        ]
      : []),
    ...(dropped.length > 0
      ? [
          `${dropped.length} stash entr${dropped.length === 1 ? 'y' : 'ies'} gone (${dropped.map(short).join(', ')}; \`git stash store <sha>\` puts one back)`,
        ]
      : []),
  ];
  return { key: 'stash', text: `the stash changed: ${parts.join('; ')}`, commits: added };
}

/** A stash entry's evidence is the commit it was made on (its first parent). */
async function withStashBases(
  repoRoot: string,
  change: CheckoutChange,
  before: CheckoutSnapshot,
  env?: Record<string, string>,
): Promise<CheckoutChange> {
  const bases: string[] = [];
  for (const entry of change.commits) {
    const parent = await git(repoRoot, ['rev-parse', '-q', '--verify', `${entry}^1`], {
      env,
      allowExitCodes: [1, 128],
    });
    if (parent.exitCode === 0)
      bases.push(...(await newCommits(repoRoot, parent.stdout.trim(), before, env)));
  }
  return { ...change, commits: bases };
}

/** A snapshot's config settings (`key=value`), as git reads its text. */
async function configSettings(
  repoRoot: string,
  snapshot: CheckoutSnapshot,
  env?: Record<string, string>,
): Promise<string[]> {
  if (snapshot.config !== undefined) return snapshot.config;
  const listed = await git(repoRoot, ['config', '--file', '-', '--list', '-z'], {
    env,
    input: snapshot.configText,
    allowExitCodes: [1, 128],
  });
  return listed.stdout
    .split('\0')
    .filter(Boolean)
    .map((entry) => entry.replace('\n', '='));
}

function configChange(
  configFile: string,
  before: readonly string[],
  after: readonly string[],
): CheckoutChange {
  const keyOf = (entry: string) =>
    entry.slice(0, entry.indexOf('=') === -1 ? undefined : entry.indexOf('='));
  const had = new Set(before);
  const has = new Set(after);
  const added = [...new Set(after.filter((e) => !had.has(e)).map(keyOf))];
  const removed = [...new Set(before.filter((e) => !has.has(e)).map(keyOf))];
  // Values are left out on purpose: a config may hold credentials (a remote's URL, a header).
  const effect = (key: string) => {
    const note = CONFIG_EFFECTS.find(([pattern]) => pattern.test(key))?.[1];
    return note === undefined ? '' : ` (${note})`;
  };
  const settings = [
    ...added.map((key) => `${key} ${removed.includes(key) ? 'changed' : 'set'}${effect(key)}`),
    ...removed.filter((key) => !added.includes(key)).map((key) => `${key} removed`),
  ];
  const what = settings.length > 0 ? settings.join(', ') : 'comments or layout only';
  const risky = added.filter((key) => effect(key) !== '');
  const check =
    risky.length === 0
      ? ''
      : `; your own git acts on ${risky.length === 1 ? 'it' : 'them'} from now on: check with git config --local --list, remove one with git config --local --unset-all ${risky[0]}`;
  return {
    key: 'config',
    text: `the repository's git config (${configFile}) changed: ${what}${check}`,
    commits: [],
  };
}

/**
 * Settings an agent may set that make your own git run a command, or send or merge something
 * elsewhere than before: the config change names what each does (keys as git lists them).
 */
const CONFIG_EFFECTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^core\.fsmonitor$/, 'git runs its command at every status in your checkout'],
  [/^core\.hookspath$/, 'git runs the hooks of the folder it names'],
  [/^filter\..+\.(clean|smudge|process)$/, 'git runs it on add and checkout'],
  [/^merge\.(.+\.driver|default)$/, 'your merges use it: a driver can hide a conflict'],
  [/^diff\.(.+\.(textconv|command)|external)$/, 'git diff runs it'],
  [/^remote\..+\.(url|pushurl)$/, 'your fetches and pushes go where it says'],
  [/^url\..+\.(insteadof|pushinsteadof)$/, 'your fetches and pushes go where it says'],
  [/^(include\.path|includeif\..+\.path)$/, 'git reads the settings of the file it names'],
  [/^extensions\.worktreeconfig$/, "git reads each worktree's config.worktree too"],
  [/^alias\./, 'an alias can run any command'],
  [/^core\.(autocrlf|eol|safecrlf)$/, 'your add and checkout change line ends'],
  [
    /^core\.worktree$/,
    "your git in your checkout works on the folder it names instead: git status there shows your files deleted, git add, commit and checkout act on that folder; the tool's git did not follow it; undo with git config --local --unset core.worktree",
  ],
  [
    /^(core\.(sshcommand|askpass|pager|editor|gitproxy)|gpg\.(.+\.)?program|sequence\.editor|credential\..*helper|pager\..+)$/,
    'git runs or reads what it names',
  ],
];

/** The files the config includes, with a hash of each (values are never kept). */
async function includedFiles(
  repoRoot: string,
  configFile: string,
  configText: string,
  env: Record<string, string> | undefined,
): Promise<Record<string, string>> {
  if (!mayInclude(configText)) return {};
  const { includes } = await configFileEntries(repoRoot, configFile, env);
  const hashes: Record<string, string> = {};
  for (const path of includes) {
    const read = readSmallFile(path, INFO_LIMIT);
    hashes[path] = read === null ? 'absent' : createHash('sha1').update(read.text).digest('hex');
  }
  return hashes;
}

/** A file the config includes that changed, came or went while `.git/config` may stay the same. */
function includedChanges(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange[] {
  if (before.included === undefined || after.included === undefined) return [];
  const changes: CheckoutChange[] = [];
  for (const [path, was, now] of differing(before.included, after.included)) {
    // A file no longer included is said by the config change (include.path removed).
    if (now === undefined) continue;
    const what =
      was === undefined
        ? 'is now included by'
        : now === 'absent'
          ? 'was deleted; it is included by'
          : 'changed; it is included by';
    changes.push({
      key: `included:${path}`,
      text: `${path} ${what} the repository's git config (${after.configFile}): your own git reads its settings as the config's (a filter, merge driver or core.fsmonitor there runs in your checkout); see what it says with cat, and remove what you did not set`,
      commits: [],
    });
  }
  return changes;
}

/** `.git/info/attributes` and `.git/info/exclude`, when both snapshots read them. */
function infoChanges(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange[] {
  const info = join(dirname(after.configFile), 'info');
  const changes: CheckoutChange[] = [];
  if (
    before.infoAttributes !== undefined &&
    after.infoAttributes !== undefined &&
    before.infoAttributes !== after.infoAttributes
  ) {
    changes.push({
      key: 'info:attributes',
      text: `${join(info, 'attributes')} changed: its attributes apply to every file of your checkout (filters your git runs on add and checkout, merge drivers, line endings); see what it says with cat`,
      commits: [],
    });
  }
  if (
    before.infoExclude !== undefined &&
    after.infoExclude !== undefined &&
    excludeAdded(before.infoExclude, after.infoExclude)
  ) {
    changes.push({
      key: 'info:exclude',
      text: `${join(info, 'exclude')} changed (the tool's own lines left out): git add and git status do not see the files its patterns match, in your checkout and every worktree`,
      commits: [],
    });
  }
  return changes;
}

/** Whether a pattern came or went, comments and the tool's own lines left out. */
function excludeAdded(before: string, after: string): boolean {
  const had = excludePatterns(before);
  const has = excludePatterns(after);
  return [...has].some((line) => !had.has(line)) || [...had].some((line) => !has.has(line));
}

function worktreeChanges(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange[] {
  if (before.worktrees === undefined || after.worktrees === undefined) return [];
  const changes: CheckoutChange[] = [];
  const out = (head: string) =>
    head.startsWith('ref: ')
      ? `branch ${shortRef(head.slice(5))}`
      : `a detached HEAD at ${short(head)}`;
  for (const [folder, was, now] of differing(before.worktrees, after.worktrees)) {
    const text =
      was === undefined
        ? `a worktree was added at ${folder} (${out(now!)} out)`
        : now === undefined
          ? `your worktree ${folder} (${out(was)} out) was removed: git no longer knows it, and what it held uncommitted may be gone`
          : `your worktree ${folder} now has ${out(now)} out (it had ${out(was)})`;
    changes.push({
      key: `worktree:${folder}`,
      text,
      commits: [],
      ...(was === undefined ? { addition: true } : {}),
    });
  }
  return changes;
}

/** Each key whose value differs between two records (or is in one only), in key order. */
/** Keys in either map whose value differs: `[key, before, after]`, undefined where absent; sorted. */
export function differing(
  before: Record<string, string>,
  after: Record<string, string>,
): Array<[string, string | undefined, string | undefined]> {
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .sort()
    .flatMap((key) => (before[key] === after[key] ? [] : [[key, before[key], after[key]]]));
}

function hookChanges(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange[] {
  // An older stored snapshot did not look at the hooks: nothing to compare with.
  if (before.hooks === undefined || after.hooks === undefined) return [];
  const dir = join(dirname(after.configFile), 'hooks');
  // With core.hooksPath set (husky, a shared folder), git does not run the hooks here.
  const runs = !/^\s*hookspath\s*=/im.test(after.configText);
  const changes: CheckoutChange[] = [];
  for (const [name, was, now] of differing(before.hooks, after.hooks)) {
    const what =
      was === undefined
        ? `was added${runs ? ': git runs it in your checkout from now on' : ''}`
        : now === undefined
          ? 'was deleted'
          : 'was changed';
    changes.push({
      key: `hook:${name}`,
      text: `the git hook ${name} (${join(dir, name)}) ${what}`,
      commits: [],
    });
  }
  return changes;
}

function lockChange(before: CheckoutSnapshot, after: CheckoutSnapshot): CheckoutChange | null {
  // An older stored snapshot did not look: nothing to compare with.
  if (before.indexLock === undefined || before.indexLock === after.indexLock) return null;
  const file = join(dirname(after.configFile), 'index.lock');
  return {
    key: 'lock:index.lock',
    text: after.indexLock
      ? `${file} was left in your checkout: git commit, add, checkout and merge there refuse to run until it is removed (remove it once no git is running)`
      : `${file}, there at the start, was removed`,
    commits: [],
  };
}

function fileChanges(
  before: CheckoutSnapshot,
  after: CheckoutSnapshot,
  isToolPath: (path: string) => boolean,
): CheckoutChange[] {
  const changes: CheckoutChange[] = [];
  for (const [path, was, now] of differing(before.files, after.files)) {
    if (isToolPath(path)) continue;
    changes.push({ key: `file:${path}`, path, text: fileText(path, was, now), commits: [] });
  }
  const ignored = new Map<string, string>();
  const hadIgnored = new Set(before.ignored);
  const hasIgnored = new Set(after.ignored);
  for (const path of after.ignored.filter((p) => !hadIgnored.has(p))) {
    ignored.set(path, `${path} appeared in your checkout (ignored by git)`);
  }
  for (const path of before.ignored.filter((p) => !hasIgnored.has(p))) {
    ignored.set(path, `${path} is gone from your checkout (it was ignored by git)`);
  }
  // A watched file inside an ignored folder is not listed on its own: its content says more.
  const hadFiles = before.ignoredFiles ?? {};
  for (const [path, now] of Object.entries(after.ignoredFiles ?? {})) {
    const was = hadFiles[path];
    if (was === undefined || was === now || ignored.has(path)) continue;
    const what =
      was === 'absent'
        ? 'appeared in your checkout'
        : now === 'absent'
          ? 'is gone from your checkout'
          : 'was modified in your checkout';
    ignored.set(path, `${path} ${what} (it is ignored by git)`);
  }
  for (const [path, text] of ignored) {
    if (!isToolPath(path)) changes.push({ key: `ignored:${path}`, path, text, commits: [] });
  }
  return changes;
}

function fileText(path: string, was: string | undefined, now: string | undefined): string {
  if (now === undefined) {
    return `${path} is back to its committed content in your checkout: its uncommitted changes are gone`;
  }
  const xy = now.slice(0, 2);
  if (was === undefined) {
    if (xy === '??') return `${path} appeared in your checkout (untracked)`;
    if (xy.includes('D')) return `${path} was deleted in your checkout`;
    if (xy.includes('A')) return `${path} was added to your checkout's index`;
    return `${path} was modified in your checkout${xy[0] !== ' ' ? ' (and staged)' : ''}`;
  }
  return `${path} changed again in your checkout (it already had uncommitted changes)`;
}

/** `before` with `paths` as they are in `now`: writes of the tool's own taken as the start. */
export function withToolWrites(
  before: CheckoutSnapshot,
  now: CheckoutSnapshot,
  paths: readonly string[],
): CheckoutSnapshot {
  const files = { ...before.files };
  const ignoredFiles = { ...before.ignoredFiles };
  const ignored = new Set(before.ignored);
  for (const path of paths) {
    for (const [into, from] of [
      [files, now.files],
      [ignoredFiles, now.ignoredFiles ?? {}],
    ] as const) {
      if (from[path] === undefined) delete into[path];
      else into[path] = from[path];
    }
    if (now.ignored.includes(path)) ignored.add(path);
    else ignored.delete(path);
  }
  return {
    ...before,
    files,
    ignored: [...ignored].sort(),
    ...(before.ignoredFiles === undefined ? {} : { ignoredFiles }),
  };
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** Commits a task made itself: its branch since its start, and every HEAD its worktree had. */
export async function taskCommits(
  repoRoot: string,
  task: { worktree: string; branch: string; startSha: string | null; headSha: string | null },
  env?: Record<string, string>,
): Promise<Set<string>> {
  const commits = new Set<string>();
  const exclude = task.startSha === null ? [] : [`^${task.startSha}`];
  const tips = [`refs/heads/${task.branch}`, ...(task.headSha === null ? [] : [task.headSha])];
  const branch = await git(repoRoot, ['rev-list', '--ignore-missing', '--stdin'], {
    env,
    input: `${[...tips, ...exclude].join('\n')}\n`,
    allowExitCodes: [128],
  });
  if (branch.exitCode === 0)
    branch.stdout
      .split('\n')
      .filter(Boolean)
      .forEach((c) => commits.add(c));
  // The worktree's own HEAD reflog: also what the agent committed on a branch it checked out.
  const reflog = await git(task.worktree, ['log', '-g', '--format=%H', 'HEAD', '--'], {
    env,
    allowExitCodes: [128],
  }).catch(() => null);
  for (const sha of reflog?.exitCode === 0 ? reflog.stdout.split('\n').filter(Boolean) : []) {
    if (sha !== task.startSha) commits.add(sha);
  }
  return commits;
}
