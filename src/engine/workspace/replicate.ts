import { cp, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { git } from './git-exec.js';

/**
 * Copy the untracked configuration an agent needs (`.env*`, `.claude/`, paths the config lists)
 * from the user's checkout into a worktree. Tracked files are already there from the checkout, so
 * only untracked or ignored ones are copied; they are returned (relative paths) so collection can
 * keep them — secrets in `.env` above all — out of the task's commit.
 */
export async function replicateConfig(
  repoRoot: string,
  worktree: string,
  extraPaths: readonly string[],
  tracked?: Set<string>,
): Promise<string[]> {
  tracked ??= await trackedFiles(repoRoot);
  const known = tracked;
  const copied: string[] = [];
  for (const root of await replicationRoots(repoRoot, extraPaths)) {
    const source = join(repoRoot, root);
    const exists = await stat(source).catch(() => null);
    if (exists === null) continue;
    await cp(source, join(worktree, root), {
      recursive: true,
      force: true,
      verbatimSymlinks: true,
      filter: async (src) => {
        const rel = relative(repoRoot, src).split(sep).join('/');
        if (neverReplicated(rel)) return false;
        const info = await stat(src).catch(() => null);
        if (info?.isDirectory()) return true;
        if (known.has(rel)) return false;
        copied.push(rel);
        return true;
      },
    });
  }
  return copied.sort();
}

/**
 * The files replicateConfig copies into a worktree, listed without copying anything: on resume the
 * tool's copies in a worktree must still be told apart from the agent's work, and kept out of its
 * commit, though this process did not make them.
 */
export async function replicatedFiles(
  repoRoot: string,
  extraPaths: readonly string[],
  tracked?: Set<string>,
): Promise<string[]> {
  const known = tracked ?? (await trackedFiles(repoRoot));
  const files: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    if (neverReplicated(rel)) return;
    const info = await stat(join(repoRoot, rel)).catch(() => null);
    if (info === null) return;
    if (!info.isDirectory()) {
      if (!known.has(rel)) files.push(rel);
      return;
    }
    for (const name of await readdir(join(repoRoot, rel))) await visit(`${rel}/${name}`);
  };
  for (const root of await replicationRoots(repoRoot, extraPaths)) {
    await visit(root.split(sep).join('/'));
  }
  return files.sort();
}

/** Where replication copies from: `.env*` and `.claude/` at the top, and the configured paths. */
async function replicationRoots(
  repoRoot: string,
  extraPaths: readonly string[],
): Promise<string[]> {
  const entries = await readdir(repoRoot);
  const roots = [
    ...entries.filter((name) => name.startsWith('.env')),
    ...(entries.includes('.claude') ? ['.claude'] : []),
    ...extraPaths.map(checkRelative),
  ];
  return [...new Set(roots)];
}

/** Git's own folder and the tool's are never copied into a worktree. */
function neverReplicated(rel: string): boolean {
  return rel === '.git' || rel.startsWith('.git/') || rel.startsWith('.parallel-executor');
}

/** Files git tracks in the user's checkout (they reach worktrees by checkout, not by copy). */
export async function trackedFiles(repoRoot: string): Promise<Set<string>> {
  const { stdout } = await git(repoRoot, ['ls-files', '-z']);
  return new Set(stdout.split('\0').filter(Boolean));
}

/** Config-listed paths stay inside the repository. */
function checkRelative(path: string): string {
  const clean = normalize(path).replace(/\/+$/, '');
  if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`) || clean === '.') {
    throw new ConfigurationError(
      '.github/parallel-executor.yml',
      null,
      `workspace.replicate: "${path}" is not a path inside the repository`,
      'List paths relative to the repository root, like ".env.local" or "config/dev".',
    );
  }
  return clean;
}
