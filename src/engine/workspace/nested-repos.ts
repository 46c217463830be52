import { readdirSync, type Dirent } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { git } from './git-exec.js';
import { adminDir, namedBack, ownFolder } from './worktree-admin.js';

/**
 * Folders below the top of `worktree` that hold a `.git` (a repository an agent made or cloned
 * there, with its own commits and files), up to `limit`, relative, `/`-separated; those in `skip`
 * (the project's own submodules) and what is below them left out. Symlinks are not followed; a
 * folder that cannot be read is passed over. Synchronous on purpose: a few microseconds a folder
 * this way, ten times more through the thread pool.
 */
export function nestedRepositories(
  worktree: string,
  limit = 5,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  const found: string[] = [];
  const visit = (rel: string): void => {
    if (skip.has(rel)) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(join(worktree, rel), { withFileTypes: true });
    } catch {
      return;
    }
    if (rel !== '' && entries.some((entry) => entry.name === '.git')) {
      found.push(rel);
      return;
    }
    for (const entry of entries) {
      if (found.length >= limit) return;
      if (!entry.isDirectory() || (rel === '' && entry.name === '.git')) continue;
      visit(rel === '' ? entry.name : `${rel}/${entry.name}`);
    }
  };
  visit('');
  return found;
}

/** A nested repository could not be moved: which one, and those moved before it. */
export class NestedMoveError extends Error {
  constructor(
    readonly failed: string,
    readonly moved: readonly string[],
    cause: unknown,
  ) {
    super(`${failed}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }

  /** What became of each, for a message: `a, b moved to <keep>; c could not be (why)`. */
  describe(keep: string): string {
    const before = this.moved.length > 0 ? `${this.moved.join(', ')} moved to ${keep}; ` : '';
    return `${before}${this.failed} could not be moved there (${(this.cause as Error)?.message ?? this.cause})`;
  }
}

/**
 * Move every nested repository out of `worktree` into `keep` (same relative paths), before the
 * worktree is reset for another attempt: no ref of the outer repository can keep their files, and
 * left in place the next attempt would work over them. Returns the paths moved; throws a
 * NestedMoveError when one could not be (another file system, say), having moved none after it.
 */
export async function moveNestedRepositories(
  worktree: string,
  keep: string,
  skip: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const moved: string[] = [];
  // All in one walk (what is below one goes with it); a second finds none, unless one came since.
  for (let found = nestedRepositories(worktree, Infinity, skip); found.length > 0;) {
    for (const rel of found) {
      const target = join(keep, rel);
      await mkdir(dirname(target), { recursive: true });
      const source = join(worktree, rel);
      const links = { gitDir: await adminDir(source), linked: (await namedBack(source)) !== null };
      try {
        await moveFolder(source, target);
      } catch (error) {
        throw new NestedMoveError(rel, moved, error);
      }
      moved.push(rel);
      await reconnect(target, links, await adminDir(worktree));
    }
    found = nestedRepositories(worktree, Infinity, skip);
  }
  return moved;
}

/**
 * `rename`, or across file systems (a worktree root on another disk than the repository: EXDEV)
 * a copy, symlinks as they are, then the removal of the source. A copy that fails is removed and
 * the source left whole.
 */
async function moveFolder(source: string, target: string): Promise<void> {
  try {
    await rename(source, target);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  try {
    await cp(source, target, {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
      errorOnExist: true,
      force: false,
    });
  } catch (error) {
    await rm(target, { recursive: true, force: true });
    throw error;
  }
  await rm(source, { recursive: true, force: true });
}

/**
 * A moved folder whose `.git` is a file naming its git folder elsewhere (`gitDir`, resolved where
 * it was), linked to it again:
 * - a linked worktree (an agent's `git worktree add` into its worktree) whose record named it
 *   back (`linked`): the record follows it (`git worktree repair`), or the next prune of that
 *   repository would forget it; a `.git` file naming another worktree's record is not followed;
 * - a submodule the agent added (its git folder in the worktree's own admin folder, `outerAdmin`,
 *   which goes with the worktree): its git folder comes along as its `.git`.
 */
async function reconnect(
  moved: string,
  { gitDir, linked }: { gitDir: string | null; linked: boolean },
  outerAdmin: string | null,
): Promise<void> {
  if (linked) {
    await git(moved, ['worktree', 'repair'], { allowExitCodes: [1, 128] });
    return;
  }
  const modules = outerAdmin === null ? null : join(outerAdmin, 'modules') + sep;
  if (gitDir === null || modules === null || !gitDir.startsWith(modules)) return;
  if (!(await ownFolder(gitDir))) return;
  // In beside the `.git` file first: killed half way, the history is in the folder either way.
  const dotGit = join(moved, '.git');
  const arriving = join(moved, '.git.parallel-executor-moving');
  await moveFolder(gitDir, arriving);
  await rm(dotGit);
  await rename(arriving, dotGit);
  // From outside it: git in it would go to the core.worktree it names, which is gone.
  const config = ['config', '--file', join(dotGit, 'config'), '--unset', 'core.worktree'];
  await git(dirname(moved), config, { allowExitCodes: [5] });
}

/**
 * The project's own submodules: the gitlinks of `commit` (the task's start), which the tool checks
 * out in every worktree. They are the project's, not something an agent left.
 */
export async function submodulesOf(
  repoRoot: string,
  commit: string | null,
  env?: Record<string, string>,
): Promise<Set<string>> {
  if (commit === null) return new Set();
  const listed = await git(repoRoot, ['ls-tree', '-r', '-z', commit], {
    allowExitCodes: [128],
    ...(env === undefined ? {} : { env }),
  });
  if (listed.exitCode !== 0) return new Set();
  return new Set(
    listed.stdout
      .split('\0')
      .filter((entry) => entry.startsWith('160000 commit '))
      .map((entry) => entry.slice(entry.indexOf('\t') + 1)),
  );
}

/**
 * Which of `paths` (folders in `worktree`) its ignore rules leave out: a reset for a retry keeps
 * ignored files where they are, and a repository there is most often one the set-up installed
 * (a dependency cloned from source) that the next attempt needs.
 */
export async function ignoredIn(worktree: string, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const checked = await git(worktree, ['check-ignore', '-z', '--stdin'], {
    input: `${paths.join('\0')}\0`,
    allowExitCodes: [1],
  });
  return new Set(checked.stdout.split('\0').filter(Boolean));
}
