import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { MAX_PLAN_BYTES } from './limits.js';

/**
 * The plan and the agent files come from a branch (a colleague's, a pull request's), so what is
 * at their path is checked before it is read: a FIFO there blocked the read for ever (Ctrl-C
 * and SIGTERM included), a link to /dev/zero filled the memory, a link committed in the branch
 * read any file of the machine as the plan.
 */

/** Why the file at `file` is not one to read as text, or null; `root`: the repository it is in. */
export async function textFileProblem(
  file: string,
  root: string | null,
  maxBytes: number,
  kind: 'plan' | 'config' = 'plan',
): Promise<{ problem: string; hint: string } | null> {
  const info = await stat(file);
  const format = kind === 'plan' ? 'Markdown' : 'YAML';
  if (info.isDirectory()) {
    return { problem: 'is a folder', hint: `Name the ${format} file itself.` };
  }
  if (!info.isFile()) {
    return {
      problem: 'is not a regular file (a FIFO, a socket or a device: reading it may never end)',
      hint: `Name a ${format} file.`,
    };
  }
  if (info.size > maxBytes) {
    return {
      problem: `is ${megabytes(info.size)}, more than the ${megabytes(maxBytes)} a ${kind} may be`,
      hint:
        kind === 'plan'
          ? 'Is it the plan? A plan is a Markdown file of text; split a larger one by group.'
          : 'Is it the configuration? It is a short YAML file of settings.',
    };
  }
  if (root === null) return null;
  const inside = (dir: string, target: string) => {
    const relative = path.relative(dir, target);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  };
  const absolute = path.resolve(file);
  if (!inside(root, absolute)) return null; // named outside the repository on purpose
  const real = await realpath(absolute);
  const realRoot = await realpath(root);
  if (inside(realRoot, real)) return null;
  return {
    problem: `is a symbolic link to ${real}, outside the repository ${root}`,
    hint: 'A link in a branch can point anywhere on this machine, so it is not followed: commit the plan itself, or name the file it points to.',
  };
}

/**
 * A plan file's text, after `textFileProblem`'s checks (a UsageError naming the file and what to
 * do otherwise). `root`: the repository holding it (null outside one). Returns the real path too:
 * a plan reached through a link inside the repository is written back where it really is.
 */
export async function readPlanFile(
  file: string,
  shown: string,
  root: string | null,
): Promise<{ text: string; real: string }> {
  let problem: Awaited<ReturnType<typeof textFileProblem>>;
  try {
    problem = await textFileProblem(file, root, MAX_PLAN_BYTES);
  } catch (error) {
    throw unreadable(error, shown);
  }
  if (problem !== null) throw new UsageError(`plan file ${shown} ${problem.problem}`, problem.hint);
  try {
    return { text: await readFile(file, 'utf8'), real: await underRoot(file, root) };
  } catch (error) {
    throw unreadable(error, shown);
  }
}

/**
 * `file` with a link inside the repository resolved, under `root` as spelled (not its real path:
 * a repository reached through a linked home folder stays where the rest of the run sees it).
 */
async function underRoot(file: string, root: string | null): Promise<string> {
  const absolute = path.resolve(file);
  if (root === null) return absolute;
  const relative = path.relative(await realpath(root), await realpath(absolute));
  if (relative.startsWith('..') || path.isAbsolute(relative)) return absolute;
  return path.join(root, relative);
}

function unreadable(error: unknown, shown: string): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  return new UsageError(
    code === 'ENOENT'
      ? `plan file not found: ${shown}`
      : `cannot read plan file ${shown}: ${(error as Error).message}`,
    code === 'ENOENT'
      ? "Pass the plan with --plan FILE (default: the config's plan:, MULTI_AGENT_PLAN.md, at the repository's top)."
      : null,
    { cause: error },
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
