import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { NotInRepositoryError, PreflightError } from '../errors.js';
import { git } from './git-exec.js';

/** The folder the tool keeps everything in, inside the repository but out of git. */
export const TOOL_DIR = '.parallel-executor';

export interface RepoInfo {
  root: string;
  /** The checked-out branch, or null when HEAD is detached. */
  branch: string | null;
  headSha: string;
  /** `git status --porcelain` paths (untracked included, ignored excluded). */
  dirtyFiles: string[];
  /** The repository's common git directory (where `info/exclude` and the refs live). */
  commonDir: string;
}

export async function findRepoRoot(cwd: string): Promise<string> {
  const result = await git(cwd, ['rev-parse', '--show-toplevel'], {
    allowExitCodes: [128],
    discover: true,
  });
  if (result.exitCode !== 0) {
    const bare = await git(cwd, ['rev-parse', '--is-bare-repository'], {
      allowExitCodes: [128],
      discover: true,
    });
    if (bare.stdout.trim() === 'true') {
      throw new NotInRepositoryError(
        `${cwd} is a bare git repository: it has no working tree for agents to branch from`,
        'Run parallel-executor in a checkout of it: `git clone <this repository> <folder>`, then run from <folder>.',
      );
    }
    throw new NotInRepositoryError(
      `${cwd} is not inside a git repository`,
      'Run parallel-executor from a git checkout: cd into your repository (or git init, commit, then run).',
    );
  }
  return result.stdout.trim();
}

export async function inspectRepo(root: string): Promise<RepoInfo> {
  // Independent questions, asked at once: pre-flight waits for the slowest, not for their sum.
  const [status, where] = await Promise.all([
    git(root, ['status', '--porcelain=v1', '-z', '--untracked-files=all']),
    locateHead(root),
  ]);
  return { root, ...where, dirtyFiles: parsePorcelainZ(status.stdout) };
}

/**
 * The common git directory, HEAD and its branch: one rev-parse when HEAD is a commit on a branch
 * or detached (what nearly every run meets), else each asked on its own for the precise answer.
 */
async function locateHead(root: string): Promise<Omit<RepoInfo, 'root' | 'dirtyFiles'>> {
  const one = await git(
    root,
    ['rev-parse', '--git-common-dir', 'HEAD', '--symbolic-full-name', 'HEAD'],
    { allowExitCodes: [128] },
  );
  const [commonDir, headSha, ref] = one.stdout.split('\n');
  if (
    one.exitCode === 0 &&
    commonDir &&
    headSha &&
    /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(headSha) &&
    (ref === 'HEAD' || ref?.startsWith('refs/heads/'))
  ) {
    return {
      commonDir: isAbsolute(commonDir) ? commonDir : resolve(root, commonDir),
      headSha,
      branch: ref === 'HEAD' ? null : ref!.slice('refs/heads/'.length),
    };
  }
  const [head, branch, common] = await Promise.all([
    git(root, ['rev-parse', '--verify', '--quiet', 'HEAD'], { allowExitCodes: [1, 128] }),
    git(root, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowExitCodes: [1] }),
    gitCommonDir(root),
  ]);
  if (head.exitCode !== 0) {
    throw new PreflightError(
      'the repository has no commit yet',
      'Commit something first: worktrees start from a commit.',
    );
  }
  return {
    branch: branch.exitCode === 0 ? branch.stdout.trim() : null,
    headSha: head.stdout.trim(),
    commonDir: common,
  };
}

/** Paths from `status --porcelain -z`: `XY path\0`, renames followed by the old path. */
function parsePorcelainZ(text: string): string[] {
  const entries = text.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i]!;
    if (entry.length < 4) continue;
    paths.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i += 1;
  }
  return paths;
}

/** The comments above the blocks of lines the tool appends to info/exclude (`# <reason>`). */
const TOOL_EXCLUDE_REASONS = {
  toolDir: "parallel-executor's worktrees, logs and state",
  toolFiles: 'files parallel-executor puts in task worktrees',
} as const;

/**
 * The lines this process appended to info/exclude: the checkout watch does not name them as a
 * change (the run's note does).
 */
export const toolExcludeLines = new Set<string>();

/**
 * Keep the tool's folder out of git without editing the user's .gitignore: `info/exclude` lives in
 * the common git dir, so it also covers every worktree the tool creates.
 */
export async function excludeToolDir(root: string, commonDir?: string): Promise<void> {
  await appendExcludes(root, [`/${TOOL_DIR}/`], TOOL_EXCLUDE_REASONS.toolDir, commonDir);
}

/**
 * Keep files the tool puts at a task worktree's root (AGENT_CONTEXT.md, copied `.env` files) out
 * of an agent's `git add -A`, in every worktree, through the same `info/exclude`. Paths already
 * ignored need no line. A path the repository tracks is not affected by an exclude (collection
 * restores it instead). Returns the lines added, for the run to name them.
 */
export async function excludeFromGit(
  root: string,
  paths: readonly string[],
  commonDir?: string,
): Promise<string[]> {
  if (paths.length === 0) return [];
  const ignored = await git(root, ['check-ignore', '--stdin', '-z'], {
    input: `${paths.join('\0')}\0`,
    allowExitCodes: [1],
  });
  const already = new Set(ignored.stdout.split('\0'));
  const lines = paths.filter((path) => !already.has(path)).map((path) => `/${escapePattern(path)}`);
  return appendExcludes(root, lines, TOOL_EXCLUDE_REASONS.toolFiles, commonDir);
}

/** A path as a gitignore pattern that matches only itself. */
function escapePattern(path: string): string {
  return path.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`).replace(/ $/, '\\ ');
}

async function appendExcludes(
  root: string,
  lines: string[],
  why: string,
  knownCommonDir?: string,
): Promise<string[]> {
  const commonDir = knownCommonDir ?? (await gitCommonDir(root));
  const file = join(commonDir, 'info', 'exclude');
  const existing = await readFile(file, 'utf8').catch(() => '');
  const present = new Set(existing.split('\n').map((l) => l.trim()));
  const missing = [...new Set(lines)].filter((line) => !present.has(line));
  if (missing.length === 0) return [];
  await mkdir(join(commonDir, 'info'), { recursive: true });
  const prefix = existing.length > 0 && !existing.endsWith('\n') ? '\n' : '';
  await appendFile(file, `${prefix}# ${why}\n${missing.join('\n')}\n`);
  for (const line of missing) toolExcludeLines.add(line);
  return missing;
}

/** The repository's common git directory (shared by its worktrees), as an absolute path. */
export async function gitCommonDir(root: string, env?: Record<string, string>): Promise<string> {
  const out = (await git(root, ['rev-parse', '--git-common-dir'], { env })).stdout.trim();
  return isAbsolute(out) ? out : resolve(root, out);
}

/**
 * Files that count against a clean tree. The tool's own folder never does, even before the
 * exclude line exists (first run in a repo).
 */
export function userDirtyFiles(info: RepoInfo): string[] {
  return info.dirtyFiles.filter((path) => path !== TOOL_DIR && !path.startsWith(`${TOOL_DIR}/`));
}
