import { resolve } from 'node:path';
import { configGuardFor, git } from './git-exec.js';

/** Above this many, files an agent's own ignore rules hide are named but not kept (a cache, say). */
export const MAX_KEPT_IGNORED = 1000;

/**
 * Untracked files that only ignore rules the agent wrote hide: a pattern on a line that a
 * `.gitignore` of the worktree has and had not at `base` (an agent that adds its output folder to
 * .gitignore, then writes its work there), or that `.git/info/exclude` has and had not when the
 * execution started (any agent's: the file applies to every worktree; known while the run's
 * config guard is on). `git status` and `git add --all` skip them, so nothing commits or keeps
 * them and they would go with the worktree. Files the project's rules (or the user's) ignore are
 * left alone: build output, caches.
 */
export async function hiddenByOwnIgnores(
  worktree: string,
  base: string,
  env?: Record<string, string>,
  /** `excludedSinceStart(worktree)`, when the caller read it already. */
  excludes: ReturnType<typeof excludedSinceStart> = excludedSinceStart(worktree),
): Promise<string[]> {
  const run = async (args: string[], input?: string) =>
    (
      await git(worktree, args, {
        ...(env === undefined ? {} : { env }),
        ...(input === undefined ? {} : { input }),
        allowExitCodes: [1],
      })
    ).stdout
      .split('\0')
      .filter(Boolean);
  const ignoreFiles = ':(top,glob)**/.gitignore';
  const [changed, added] = await Promise.all([
    run(['diff', '--name-only', '--no-renames', '-z', base, '--', ignoreFiles]),
    run(['ls-files', '--others', '--exclude-standard', '-z', '--', ignoreFiles]),
  ]);
  const own = new Set([...changed, ...added]);
  if (own.size === 0 && excludes === null) return [];
  const ignored = await run(['ls-files', '--others', '--ignored', '--exclude-standard', '-z']);
  if (ignored.length === 0) return [];
  // `<source>\0<line>\0<pattern>\0<path>\0` per path: the rule that decides it.
  const fields = (
    await git(worktree, ['check-ignore', '--verbose', '--stdin', '-z'], {
      ...(env === undefined ? {} : { env }),
      input: `${ignored.join('\0')}\0`,
      allowExitCodes: [1],
    })
  ).stdout.split('\0');
  const before = new Map<string, Set<string>>();
  const hidden: string[] = [];
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, , pattern, path] = fields.slice(i, i + 4) as [string, string, string, string];
    if (excludes !== null && resolve(worktree, source) === excludes.file) {
      if (!excludes.patterns.has(pattern)) hidden.push(path);
      continue;
    }
    if (!own.has(source)) continue;
    if (!before.has(source)) {
      const shown = await git(worktree, ['cat-file', 'blob', `${base}:${source}`], {
        ...(env === undefined ? {} : { env }),
        allowExitCodes: [128],
      });
      before.set(source, new Set(shown.exitCode === 0 ? shown.stdout.split('\n') : []));
    }
    if (!before.get(source)!.has(pattern)) hidden.push(path);
  }
  return hidden;
}

/** See ConfigGuard.startExcludes. */
export function excludedSinceStart(
  worktree: string,
): { file: string; patterns: ReadonlySet<string> } | null {
  return configGuardFor(worktree)?.startExcludes() ?? null;
}
