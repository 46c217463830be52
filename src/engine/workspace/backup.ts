import { copyFile, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from './git-exec.js';
import { identityArgs, type GitIdentity } from './identity.js';
import { hidingEntries, markedEntry } from './marked-entries.js';
import { submodulesOf } from './nested-repos.js';
import { hiddenByOwnIgnores, MAX_KEPT_IGNORED } from './own-ignores.js';
import { isWorktreeRoot } from './worktree.js';
import { strandedAdmin } from './worktree-admin.js';

/**
 * Nothing an agent made is ever lost: before anything resets, removes or replaces a task's work
 * (a retry, `resume`, `clean`, a failure that keeps the worktree), its state is kept under a named
 * ref in the repository — `refs/parallel-executor/<execution>/<task>/attempt-<n>` — that points at
 * the worktree's HEAD with every uncommitted change on top of it (one extra commit, made with a
 * private index so the worktree and its index are not touched). Refs under `refs/parallel-executor/`
 * are not branches: they do not clutter `git branch`, but `git log`, `git checkout` and
 * `git branch <name> <ref>` take them, and gc keeps what they point at.
 */

export const BACKUP_NAMESPACE = 'refs/parallel-executor';

/** A valid ref component from any text (task ids are plan text). */
function refComponent(text: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '')
    .replace(/\.lock$/i, '-lock');
  return cleaned.length > 0 ? cleaned.slice(0, 80) : 'task';
}

/** Parents of one holding commit: 1,000 ids are about 84 KB of arguments. */
const HOLD_PARENTS = 1_000;

/**
 * A commit that holds every one of `commits` (as its parents), for one ref to keep them all from
 * gc; its tree is the first one's. Many thousands would pass git more arguments than a process may
 * have: then a chain of commits, each holding up to HOLD_PARENTS of them and the one before.
 * Returns the last commit of the chain. `commits` must not be empty.
 */
export async function holdingCommit(
  repoRoot: string,
  commits: readonly string[],
  message: string,
  identity: GitIdentity,
  env: Record<string, string>,
): Promise<string> {
  let commit: string | null = null;
  for (let at = 0; at < commits.length; at += HOLD_PARENTS) {
    const parents = [...(commit === null ? [] : [commit]), ...commits.slice(at, at + HOLD_PARENTS)];
    const made = await git(
      repoRoot,
      [
        ...identityArgs(identity),
        'commit-tree',
        `${commits[0]!}^{tree}`,
        ...parents.flatMap((sha) => ['-p', sha]),
        '-m',
        message,
      ],
      { env },
    );
    commit = made.stdout.trim();
  }
  return commit!;
}

/** `refs/parallel-executor/<execution>/<task>`: every ref kept for one task starts with this. */
export function taskBackupPrefix(executionId: string, taskId: string): string {
  return `${BACKUP_NAMESPACE}/${refComponent(executionId)}/${refComponent(taskId)}`;
}

export function attemptRef(executionId: string, taskId: string, attempt: number): string {
  return `${taskBackupPrefix(executionId, taskId)}/attempt-${attempt}`;
}

export interface WorktreeSnapshot {
  /** The commit holding the worktree as it is: HEAD, or a commit on HEAD with the uncommitted changes. */
  sha: string;
  /** What HEAD was. */
  head: string;
  /** Whether there were uncommitted changes (tracked or untracked, ignored files excepted). */
  dirty: boolean;
}

/**
 * A commit of the worktree exactly as it is — HEAD plus every uncommitted change, untracked files
 * included, ignored ones not (but for those only the agent's own ignore rules hide) — made through a temporary index so that neither the worktree nor its
 * index nor any branch moves. A merge in progress or conflict markers are snapshotted as files.
 * Null when there is no worktree (a folder that is not one's top counts as none) or no HEAD.
 */
export async function snapshotWorktree(
  worktree: string,
  env: Record<string, string>,
  identity: GitIdentity,
  message: string,
  /** Paths (relative to the worktree) kept out: the tool's copies of secrets such as `.env`. */
  exclude: readonly string[] = [],
  /**
   * The commit the work started from, whose gitlinks are the project's submodules; unknown, those
   * of HEAD are taken for them.
   */
  startSha: string | null = null,
  /**
   * The worktree's admin folder, for one whose `.git` file an agent removed (`strandedAdmin`):
   * git reaches it through that folder alone, never by looking up from the worktree.
   */
  stranded: string | null = null,
): Promise<WorktreeSnapshot | null> {
  if (stranded !== null) env = { ...env, GIT_DIR: stranded, GIT_WORK_TREE: worktree };
  else if (!(await isWorktreeRoot(worktree))) return null;
  const headResult = await git(worktree, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], {
    env,
    allowExitCodes: [1, 128],
  });
  if (headResult.exitCode !== 0) return null;
  const head = headResult.stdout.trim();
  const scratch = await mkdtemp(join(tmpdir(), 'pe-snapshot-'));
  try {
    const indexEnv = { ...env, GIT_INDEX_FILE: join(scratch, 'index') };
    await startIndex(worktree, head, env, indexEnv.GIT_INDEX_FILE);
    // A repository an agent made inside its worktree would become a gitlink to commits that exist
    // only there (or make `git add` fail when it has none): its files are taken in as files.
    const nested = await nestedRepositories(worktree, indexEnv);
    await git(worktree, ['add', '--all', '--pathspec-from-file=-', '--pathspec-file-nul'], {
      env: indexEnv,
      input: `${['.', ...nested.map((p) => `:(top,exclude,literal)${p}`)].join('\0')}\0`,
    });
    // Files only ignore rules the agent wrote hide are its work too (not too many: a cache is not).
    const hidden = await hiddenByOwnIgnores(worktree, startSha ?? head, env);
    if (hidden.length > 0 && hidden.length <= MAX_KEPT_IGNORED) {
      await git(worktree, ['add', '--force', '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env: indexEnv,
        input: `${hidden.map((p) => `:(top,literal)${p}`).join('\0')}\0`,
      });
    }
    const gitDir = (
      await git(worktree, ['rev-parse', '--absolute-git-dir'], { env })
    ).stdout.trim();
    // One the agent staged or committed (`git add -A` over its own `git init`) is a gitlink in
    // the index by now: in the kept commit its files take the link's place (HEAD keeps the link).
    const linked = await agentGitlinks(worktree, indexEnv, startSha ?? head);
    if (linked.length > 0) {
      await git(worktree, ['update-index', '--force-remove', '-z', '--stdin'], {
        env: indexEnv,
        input: `${linked.join('\0')}\0`,
      });
    }
    for (const path of [...nested, ...linked]) {
      const tree = await filesAsTree(gitDir, join(worktree, path), env, scratch);
      await git(worktree, ['read-tree', `--prefix=${path}/`, tree], { env: indexEnv });
    }
    if (exclude.length > 0) {
      // Back to HEAD's version (or out, when HEAD has none): a kept ref never holds a secret the
      // tool copied in. Pathspecs through stdin, literal, so odd names stay inert.
      await git(worktree, ['reset', '-q', head, '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env: indexEnv,
        input: `${exclude.map((p) => `:(top,literal)${p}`).join('\0')}\0`,
      });
    }
    const tree = (await git(worktree, ['write-tree'], { env: indexEnv })).stdout.trim();
    const headTree = (await git(worktree, ['rev-parse', `${head}^{tree}`], { env })).stdout.trim();
    if (tree === headTree) return { sha: head, head, dirty: false };
    const commit = await git(
      worktree,
      [...identityArgs(identity), 'commit-tree', tree, '-p', head, '-m', message],
      { env },
    );
    return { sha: commit.stdout.trim(), head, dirty: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The private index starts as a copy of the worktree's own: its stat data lets `git add --all`
 * hash only what changed (after `read-tree` it has none and hashes every file: minutes in a big
 * tree). What the agent staged (a `git rm --cached` too) is part of its uncommitted work. Without
 * an index, or with a half-merged one, it starts from HEAD's tree as before.
 */
async function startIndex(
  worktree: string,
  head: string,
  env: Record<string, string>,
  index: string,
): Promise<void> {
  const own = (
    await git(worktree, ['rev-parse', '--path-format=absolute', '--git-path', 'index'], { env })
  ).stdout.trim();
  const copied = await copyFile(own, index).then(
    () => true,
    () => false,
  );
  if (copied) {
    const indexEnv = { ...env, GIT_INDEX_FILE: index };
    // `-t -v` tags: `M` unmerged; `h` assume-unchanged (lower case), `S`/`s` skip-worktree.
    const listed = await git(worktree, ['ls-files', '-t', '-v', '-z'], { env: indexEnv });
    const records = listed.stdout.split('\0');
    if (!records.some((record) => /^[Mm] /.test(record))) {
      // Marked entries hide the agent's edits from `git add`: not in this copy. A skip-worktree
      // file absent from the worktree is a sparse checkout's, and stays as it is.
      const marked = records.map(markedEntry).filter((entry) => entry !== null);
      const paths = (await hidingEntries(worktree, marked)).map((entry) => entry.path);
      // One flag a call: given both, update-index clears the first only (its update_one returns
      // after the assume-unchanged mark), and a skip-worktree edit stayed out of the kept ref.
      for (const flag of ['--no-assume-unchanged', '--no-skip-worktree']) {
        if (paths.length === 0) break;
        await git(worktree, ['update-index', flag, '-z', '--stdin'], {
          env: indexEnv,
          input: `${paths.join('\0')}\0`,
        });
      }
      return;
    }
  }
  await git(worktree, ['read-tree', head], { env: { ...env, GIT_INDEX_FILE: index } });
}

export interface KeptAttempt {
  /** The ref holding the worktree's state (HEAD plus uncommitted changes). */
  ref: string;
  sha: string;
  dirty: boolean;
  /** Set when the task branch had commits that HEAD lacked (the agent switched away): kept too. */
  branchRef: string | null;
  /** The commit `branchRef` points at (null with it). */
  branchSha: string | null;
  /** The admin folder the worktree was read through, its `.git` file gone (`strandedAdmin`). */
  stranded: string | null;
}

/**
 * What a kept attempt adds to a `kept_refs` list: its ref, and the ref of the branch its worktree
 * had left when there is one (`left` says which branch that was, in words).
 */
export function keptRefsOf(
  kept: KeptAttempt,
  why: string,
  left: string,
): Array<{ ref: string; sha: string; why: string }> {
  const refs = [{ ref: kept.ref, sha: kept.sha, why }];
  if (kept.branchRef !== null && kept.branchSha !== null) {
    refs.push({ ref: kept.branchRef, sha: kept.branchSha, why: `${why} (${left})` });
  }
  return refs;
}

export interface KeepAttemptInput {
  repoRoot: string;
  worktree: string;
  /** The task branch (short name); its tip is kept too when HEAD does not contain it. */
  branch: string;
  ref: string;
  env: Record<string, string>;
  identity: GitIdentity;
  /** Why it is kept: goes in the snapshot commit's message. */
  why: string;
  /** Paths left out of the snapshot (the tool's copies of configuration and secrets). */
  exclude?: readonly string[];
  /** The commit the work started from (its gitlinks are the project's submodules). */
  startSha?: string | null;
}

/**
 * Keep one attempt's work under `ref` (and `<ref>-branch` when the task branch diverged from HEAD).
 * When the worktree is gone, the branch tip alone is kept. Null when there is nothing to keep
 * (no worktree and no branch).
 */
export async function keepAttempt(input: KeepAttemptInput): Promise<KeptAttempt | null> {
  // A folder whose `.git` file its agent removed is kept through its admin folder, which git
  // still has: its HEAD (commits on no branch too) and uncommitted files.
  const stranded = (await isWorktreeRoot(input.worktree))
    ? null
    : await strandedAdmin(input.repoRoot, input.worktree);
  const snapshot = await snapshotWorktree(
    input.worktree,
    input.env,
    input.identity,
    `parallel-executor: uncommitted work kept (${input.why})`,
    input.exclude ?? [],
    input.startSha ?? null,
    stranded,
  );
  const tip = await refSha(input.repoRoot, `refs/heads/${input.branch}`, input.env);
  if (snapshot === null && tip === null) return null;
  const sha = snapshot?.sha ?? tip!;
  await git(input.repoRoot, ['update-ref', '-m', input.why, input.ref, sha], { env: input.env });
  let branchRef: string | null = null;
  let branchSha: string | null = null;
  if (tip !== null && tip !== sha && !(await isAncestor(input.repoRoot, tip, sha, input.env))) {
    branchRef = `${input.ref}-branch`;
    branchSha = tip;
    await git(input.repoRoot, ['update-ref', '-m', input.why, branchRef, tip], { env: input.env });
  }
  return {
    ref: input.ref,
    sha,
    dirty: snapshot?.dirty ?? false,
    branchRef,
    branchSha,
    stranded: snapshot === null ? null : stranded,
  };
}

/** The next free attempt number under a task's prefix (1 when none is kept yet). */
export async function nextAttemptNumber(
  repoRoot: string,
  executionId: string,
  taskId: string,
  env?: Record<string, string>,
): Promise<number> {
  const refs = await listRefs(repoRoot, taskBackupPrefix(executionId, taskId), env);
  let highest = 0;
  for (const { ref } of refs) {
    const match = /\/attempt-(\d+)$/.exec(ref);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest + 1;
}

export async function listRefs(
  repoRoot: string,
  prefix: string,
  env?: Record<string, string>,
): Promise<{ ref: string; sha: string }[]> {
  const { stdout } = await git(
    repoRoot,
    ['for-each-ref', '--format=%(refname) %(objectname)', `${prefix}/`],
    { env },
  );
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref, sha] = line.split(' ');
      return { ref: ref!, sha: sha! };
    });
}

export async function refSha(
  repoRoot: string,
  ref: string,
  env?: Record<string, string>,
): Promise<string | null> {
  const result = await git(repoRoot, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    env,
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

export async function isAncestor(
  repoRoot: string,
  ancestor: string,
  descendant: string,
  env?: Record<string, string>,
): Promise<boolean> {
  const result = await git(repoRoot, ['merge-base', '--is-ancestor', ancestor, descendant], {
    env,
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0;
}

/**
 * Gitlinks of the index at `indexEnv` whose folder holds a repository (an agent's `git init`, its
 * commits only there), the project's submodules (the gitlinks of `start`) aside.
 */
async function agentGitlinks(
  worktree: string,
  indexEnv: Record<string, string>,
  start: string,
): Promise<string[]> {
  const staged = await git(worktree, ['ls-files', '--stage', '-z'], { env: indexEnv });
  // `<mode> <sha> <stage>\t<path>`; an unmerged link is listed once per stage.
  const links = new Set(
    staged.stdout
      .split('\0')
      .filter((entry) => entry.startsWith('160000 '))
      .map((entry) => entry.slice(entry.indexOf('\t') + 1)),
  );
  const present: string[] = [];
  for (const path of links) {
    if ((await lstat(join(worktree, path, '.git')).catch(() => null)) !== null) present.push(path);
  }
  if (present.length === 0) return [];
  const project = await submodulesOf(worktree, start, indexEnv);
  return present.filter((path) => !project.has(path));
}

/** Untracked folders of the worktree that hold a repository of their own (`.git` inside). */
async function nestedRepositories(
  worktree: string,
  env: Record<string, string>,
): Promise<string[]> {
  const untracked = await git(
    worktree,
    ['ls-files', '--others', '--directory', '--exclude-standard', '-z'],
    { env },
  );
  const found: string[] = [];
  const visit = async (rel: string, depth: number): Promise<void> => {
    const entries = await readdir(join(worktree, rel)).catch(() => [] as string[]);
    if (entries.includes('.git')) {
      found.push(rel);
      return;
    }
    if (depth > 8) return;
    for (const entry of entries) {
      const info = await lstat(join(worktree, rel, entry)).catch(() => null);
      if (info?.isDirectory()) await visit(`${rel}/${entry}`, depth + 1);
    }
  };
  for (const entry of untracked.stdout.split('\0')) {
    if (entry.endsWith('/')) await visit(entry.slice(0, -1), 0);
  }
  return found;
}

/**
 * A tree, in the task's repository, of the files in `dir` (a nested repository's working tree,
 * its own `.git` left out, its own ignore rules kept), nested repositories inside it included.
 */
async function filesAsTree(
  gitDir: string,
  dir: string,
  env: Record<string, string>,
  scratch: string,
): Promise<string> {
  const index = await mkdtemp(join(scratch, 'nested-'));
  const indexEnv = { ...env, GIT_INDEX_FILE: join(index, 'index') };
  const inDir = ['--git-dir', gitDir, '--work-tree', dir];
  const inner = await nestedRepositories(dir, { ...indexEnv, GIT_DIR: gitDir, GIT_WORK_TREE: dir });
  await git(dir, [...inDir, 'add', '--all', '--pathspec-from-file=-', '--pathspec-file-nul'], {
    env: indexEnv,
    input: `${['.', ...inner.map((p) => `:(top,exclude,literal)${p}`)].join('\0')}\0`,
  });
  for (const path of inner) {
    const tree = await filesAsTree(gitDir, join(dir, path), env, scratch);
    await git(dir, [...inDir, 'read-tree', `--prefix=${path}/`, tree], { env: indexEnv });
  }
  return (await git(dir, [...inDir, 'write-tree'], { env: indexEnv })).stdout.trim();
}
