import { lstat, readdir, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { readSmallFile } from '../small-file.js';
import { gitCommonDir } from './repo.js';

/**
 * A linked worktree is a folder whose `.git` file names its admin folder
 * (`<common dir>/worktrees/<name>`), whose `gitdir` file names the worktree back
 * (gitrepository-layout(5)). An agent can rewrite its `.git` file to name another worktree's admin
 * folder, the user's own: every git command run in the task's folder would then act on the user's
 * HEAD, index and branch. These checks read files only; no git runs in a folder they refuse.
 */

/**
 * A `.git` or `gitdir` file's text; null unless it is a small regular file. An agent can put a
 * FIFO in its place: a blocking read of one would never return, and the run with it.
 */
function pointer(path: string): string | null {
  return readSmallFile(path, POINTER_BYTES)?.text ?? null;
}

const POINTER_BYTES = 64 * 1024;

/** The admin folder a linked worktree's `.git` file points to; null for anything else. */
export async function adminDir(worktree: string): Promise<string | null> {
  const text = pointer(join(worktree, '.git'));
  const match = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return match === null ? null : resolve(worktree, match[1]!.trim());
}

/** A real folder, not a symlink to one elsewhere (whose files would be moved or removed). */
export async function ownFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() === true;
}

const real = (path: string) => realpath(path).catch(() => null);

/**
 * The admin folder of `worktree` when its `.git` file names one whose `gitdir` names this very
 * folder back; null for anything else (a `.git` file pointed at another worktree's admin folder,
 * a `.git` folder put in its place).
 */
export async function namedBack(worktree: string): Promise<string | null> {
  const admin = await adminDir(worktree);
  if (admin === null) return null;
  const back = pointer(join(admin, 'gitdir'));
  if (back === null) return null;
  const [named, self] = await Promise.all([
    real(dirname(resolve(admin, back.trim()))),
    real(worktree),
  ]);
  return named !== null && named === self ? admin : null;
}

/** Per repository root, its common git dir (asked once: it does not move). */
const commonDirs = new Map<string, Promise<string>>();

function commonDirOf(repoRoot: string): Promise<string> {
  let found = commonDirs.get(repoRoot);
  if (found === undefined) {
    found = gitCommonDir(repoRoot);
    found.catch(() => commonDirs.delete(repoRoot));
    commonDirs.set(repoRoot, found);
  }
  return found;
}

/**
 * The admin folder of `worktree` if it is a linked worktree of this repository that git knows at
 * this very folder: a real folder whose `.git` file names an admin folder in the repository's
 * `worktrees/`, whose `gitdir` file names it back. Null for anything else (a symlink to someone's
 * worktree, a `.git` file an agent pointed at another worktree's admin folder).
 */
export async function ownAdmin(repoRoot: string, worktree: string): Promise<string | null> {
  if (!(await ownFolder(worktree))) return null;
  const admin = await namedBack(worktree);
  if (admin === null) return null;
  const [adminParent, worktrees] = await Promise.all([
    real(dirname(admin)),
    commonDirOf(repoRoot).then((common) => real(join(common, 'worktrees'))),
  ]);
  return adminParent !== null && adminParent === worktrees ? admin : null;
}

/**
 * The admin folder git still records for `worktree` when the folder's own `.git` is gone, or is a
 * file that names no existing folder (text an agent wrote over it): git can then reach the
 * worktree's HEAD, index and reflog only through that admin folder (`GIT_DIR=<admin>
 * GIT_WORK_TREE=<worktree>`). Null for anything else: a real worktree, no record naming this
 * folder, and a `.git` that names an existing folder (another worktree's admin folder, the user's
 * `.git`) or is not a regular file, which stay refused: nothing of git is run on that folder.
 */
export async function strandedAdmin(repoRoot: string, worktree: string): Promise<string | null> {
  if (!(await ownFolder(worktree))) return null;
  const dotGit = await lstat(join(worktree, '.git')).catch(() => null);
  if (dotGit !== null) {
    if (!dotGit.isFile()) return null;
    const named = await adminDir(worktree);
    if (named !== null && (await lstat(named).catch(() => null)) !== null) return null;
  }
  const self = await real(worktree);
  for (const record of await worktreeRecords(await commonDirOf(repoRoot))) {
    if (!(await ownFolder(record.admin))) continue;
    if ((await canonical(record.worktree)) === self) return record.admin;
  }
  return null;
}

/**
 * `git worktree prune`, for the tool's own worktrees only: the admin folders of worktrees whose
 * folder is gone and was `folders` or below one. A plain prune would also drop the user's own
 * worktrees whose folder is not where git last saw it (moved without `git worktree move`, on a
 * drive not mounted): their index (staged changes) with them, and `git worktree repair` could no
 * longer bring them back. A locked worktree is left, as git leaves it.
 */
export async function pruneWorktreesIn(
  repoRoot: string,
  folders: readonly string[],
): Promise<void> {
  const within = await Promise.all(folders.map(canonical));
  for (const { admin, worktree } of await worktreeRecords(await commonDirOf(repoRoot))) {
    if ((await lstat(join(admin, 'locked')).catch(() => null)) !== null) continue;
    if (await lstat(join(worktree, '.git')).catch(() => null)) continue;
    const where = await canonical(worktree);
    if (within.some((folder) => where === folder || where.startsWith(`${folder}${sep}`))) {
      await rm(admin, { recursive: true, force: true });
    }
  }
}

/**
 * The linked worktrees git records in `<common>/worktrees/`: each admin folder whose `gitdir`
 * (read without blocking: an agent can put a FIFO there) names a worktree's `.git`, with that
 * worktree's folder, in name order.
 */
export async function worktreeRecords(
  common: string,
): Promise<Array<{ admin: string; worktree: string }>> {
  const admins = join(common, 'worktrees');
  const names = await readdir(admins).catch(() => [] as string[]);
  return names.sort().flatMap((name) => {
    const admin = join(admins, name);
    const back = pointer(join(admin, 'gitdir'));
    return back === null ? [] : [{ admin, worktree: dirname(resolve(admin, back.trim())) }];
  });
}

/** A path with its nearest existing ancestor resolved (the path itself may be gone). */
async function canonical(path: string): Promise<string> {
  const absolute = resolve(path);
  const found = await real(absolute);
  if (found !== null) return found;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(await canonical(parent), basename(absolute));
}
