import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskMetrics } from '../state/schema.js';
import { readSmallFile } from '../small-file.js';
import { GitError } from '../errors.js';
import { git, NO_HOOKS, RAW_DIFF } from '../workspace/git-exec.js';
import { identityArgs, type GitIdentity } from '../workspace/identity.js';
import {
  excludedSinceStart,
  hiddenByOwnIgnores,
  MAX_KEPT_IGNORED,
} from '../workspace/own-ignores.js';
import type { Inspection } from './inspect.js';

export const CONTEXT_FILE = 'AGENT_CONTEXT.md';
export const SUMMARY_FILE = 'TASK_SUMMARY.md';
/** A TASK_SUMMARY.md larger than this is not read (the agent's final message stands in). */
const MAX_SUMMARY_BYTES = 4 * 1024 * 1024;

export interface CollectInput {
  worktree: string;
  taskId: string;
  taskTitle: string;
  agent: string;
  startSha: string;
  /**
   * What inspectWorktree saw just before, which saves asking git again (HEAD, whether anything
   * changed); absent when the worktree was not inspected (it may then be in the middle of a merge).
   */
  inspected?:
    | (Pick<Inspection, 'head' | 'unchanged'> & Partial<Pick<Inspection, 'addableToolPaths'>>)
    | undefined;
  identity: GitIdentity;
  /** Paths (relative to the worktree) the tool put there and that must never be committed. */
  keepOut: readonly string[];
  outputDir: string;
  logFile: string;
  durationMs: number;
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from / written to the cache (Claude Code); absent when the agent does not say. */
  cacheReadTokens?: number | null;
  cacheCreationTokens?: number | null;
  costUsd: number | null;
  /** The agent's final message (Claude Code's `result`): the summary when it wrote no file. */
  agentSummary: string | null;
}

export interface CollectResult {
  headSha: string;
  /** Whether leftovers had to be committed for the agent. */
  committedLeftovers: boolean;
  /** The tool's own files the agent had committed, put back as they were at the start. */
  restoredToolPaths: string[];
  metrics: TaskMetrics;
  /** TASK_SUMMARY.md as the agent wrote it, or null. */
  summary: string | null;
  /** What the work holds that the user should look at before merging it (not a failure). */
  warnings: string[];
  /** Files only ignore rules the agent wrote hide (hiddenByOwnIgnores): its work, not committed. */
  hiddenByIgnores: string[];
}

/**
 * Phase 4.1: commit what the agent left uncommitted on its branch (and, when it committed the
 * tool's own files, one commit that puts them back as they were), then write the output bundle
 * (`changes.diff`, `files_changed.txt`, `agent.log`, `TASK_SUMMARY.md`, `metrics.json`). Diffs are
 * taken from the task's start commit, so a dependent task's bundle holds only its own work.
 */
export async function collectTask(input: CollectInput): Promise<CollectResult> {
  const committedLeftovers = await commitLeftovers(input);
  let taken = await takeDiff(input, committedLeftovers ? undefined : input.inspected?.head?.sha);
  // The numstat names every changed path (a rename's two names too): the tool's files, if any.
  const toolPaths = new Set([CONTEXT_FILE, SUMMARY_FILE, ...input.keepOut]);
  let restoredToolPaths: string[] = [];
  if (taken.stat.named.some((path) => toolPaths.has(path))) {
    restoredToolPaths = await restoreToolPaths(input, toolPaths);
    if (restoredToolPaths.length > 0) taken = await takeDiff(input, undefined);
  }
  const { headSha, diff } = taken;
  const { added, removed, files } = taken.stat;
  const metrics: TaskMetrics = {
    lines_added: added,
    lines_removed: removed,
    files_modified: files.length,
    files_changed: files,
    duration_ms: input.durationMs,
    input_tokens: input.inputTokens,
    output_tokens: input.outputTokens,
    cache_read_tokens: input.cacheReadTokens ?? null,
    cache_creation_tokens: input.cacheCreationTokens ?? null,
    cost_usd: input.costUsd,
  };
  // The agent's file: never a FIFO or a device (a blocking read of one would hang collection).
  const written =
    readSmallFile(join(input.worktree, SUMMARY_FILE), MAX_SUMMARY_BYTES)?.text ?? null;
  const summary =
    written ??
    (input.agentSummary?.trim()
      ? `# Task summary\n\n(The agent's final message; it wrote no ${SUMMARY_FILE}.)\n\n${input.agentSummary.trim()}\n`
      : null);
  await mkdir(input.outputDir, { recursive: true });
  await Promise.all([
    writeFile(join(input.outputDir, 'changes.diff'), diff),
    writeFile(join(input.outputDir, 'files_changed.txt'), files.map((f) => `${f}\n`).join('')),
    writeFile(join(input.outputDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`),
    copyLog(input.logFile, input.outputDir),
    summary === null ? Promise.resolve() : writeFile(join(input.outputDir, SUMMARY_FILE), summary),
  ]);
  const outside = linksOutside(diff);
  const warnings = outside.length === 0 ? [] : [linksWarning(outside)];
  // Only a task that changed a .gitignore can have hidden its own files with it, or any agent
  // that added a line to the shared .git/info/exclude.
  const excludes = excludedSinceStart(input.worktree);
  const hiddenByIgnores =
    taken.stat.named.some((path) => path === '.gitignore' || path.endsWith('/.gitignore')) ||
    excludes !== null
      ? await hiddenByOwnIgnores(input.worktree, input.startSha, undefined, excludes)
      : [];
  return {
    headSha,
    committedLeftovers,
    restoredToolPaths,
    metrics,
    summary,
    warnings,
    hiddenByIgnores,
  };
}

/**
 * Symbolic links the task's diff adds or changes whose target is outside the repository (an
 * absolute path, or `..` past its top) or inside its `.git`: `link -> target` each. Read from the
 * diff already taken (a link's content is its target), not from the worktree.
 */
export function linksOutside(diff: string): string[] {
  const found: string[] = [];
  for (const section of diff.split(/^diff --git /m).slice(1)) {
    const isLink =
      /^(new file mode|new mode) 120000$/m.test(section) ||
      /^index [0-9a-f]+\.\.[0-9a-f]+ 120000$/m.test(section);
    if (!isLink || /^deleted file mode/m.test(section)) continue;
    const path = /^\+\+\+ (?:b\/(.*)|"b\/(.*)")$/m.exec(section);
    const target = /^@@[^\n]*\n(?:[-\\ ][^\n]*\n)*\+([^\n]*)/m.exec(section)?.[1];
    if (path === null || target === undefined) continue;
    const name = path[1] ?? path[2]!;
    if (escapes(name, target)) found.push(`${name} -> ${target}`);
  }
  return found;
}

function escapes(path: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const parts: string[] = path.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return true;
      parts.pop();
    } else parts.push(part);
  }
  return parts[0] === '.git';
}

/** The first five paths of a warning's list, and how many more there are. */
function firstFive(paths: readonly string[]): string {
  return paths.slice(0, 5).join(', ') + (paths.length > 5 ? `, and ${paths.length - 5} more` : '');
}

function linksWarning(links: readonly string[]): string {
  return `the task's work holds symbolic links that point outside the repository (or into its .git): ${firstFive(links)}. Git merges them as links (the path, not the file), so whatever reads them later (a build, a test, a deploy) reads that path on the machine it runs on; make sure they are meant before merging, or remove them (git rm <link>) and resume`;
}

/** What a task's warning says of the files its own .gitignore lines hide (`keptAt`: their ref). */
export function ownIgnoresWarning(
  worktree: string,
  hidden: readonly string[],
  keptAt: string | null,
): string {
  const kept =
    keptAt !== null
      ? `they are kept at ${keptAt}`
      : hidden.length > MAX_KEPT_IGNORED
        ? `too many to keep under a ref (over ${MAX_KEPT_IGNORED}): they go when the worktree is removed`
        : 'they could not be kept under a ref: they go when the worktree is removed';
  const rules =
    excludedSinceStart(worktree) === null
      ? "the agent's own changes to .gitignore hide"
      : 'ignore lines added during the run (its own .gitignore lines, or .git/info/exclude, which every worktree shares) hide';
  return `${rules} files it wrote in ${worktree}: ${firstFive(hidden)}. Git does not see them, so they were neither committed nor merged; ${kept}. If they are work, copy them out of the worktree, or commit them on the branch (git add --force)`;
}

/** Also used for failed tasks, whose bundle is just the log. */
export async function copyLog(logFile: string, outputDir: string): Promise<void> {
  await mkdir(outputDir, { recursive: true });
  await copyFile(logFile, join(outputDir, 'agent.log')).catch(() => undefined);
}

/** The diff and numstat from the start to HEAD (`head`, or asked of git). */
async function takeDiff(
  input: CollectInput,
  head: string | undefined,
): Promise<{ headSha: string; diff: string; stat: Numstat }> {
  // Nothing from a commit to itself.
  if (head === input.startSha) return { headSha: head, diff: '', stat: readNumstat('') };
  // HEAD asked for alongside the diffs: nothing moves it now (the agent has ended).
  const range = [input.startSha, head ?? 'HEAD'];
  const [headSha, diff, numstat] = await Promise.all([
    head ?? git(input.worktree, ['rev-parse', 'HEAD']).then((result) => result.stdout.trim()),
    // The repository's config may name an external diff or a textconv command (an agent's, in the
    // config every worktree shares): neither runs, and the diff is git's own.
    git(input.worktree, ['diff', ...RAW_DIFF, '--binary', ...range, '--']),
    git(input.worktree, ['diff', ...RAW_DIFF, '--numstat', '-z', ...range, '--']),
  ]);
  if (headSha === input.startSha) return { headSha, diff: '', stat: readNumstat('') };
  return { headSha, diff: diff.stdout, stat: readNumstat(numstat.stdout) };
}

async function commitLeftovers(input: CollectInput): Promise<boolean> {
  if (input.inspected?.unchanged === true) return false;
  // Ignored files are never added anyway, and git refuses pathspecs that name them: leave them out.
  const keepOut =
    input.inspected?.addableToolPaths ??
    (await notIgnored(input.worktree, [CONTEXT_FILE, SUMMARY_FILE, ...input.keepOut]));
  // Pathspecs through stdin: no argv length limit, and `literal` so odd file names stay inert.
  const pathspecs = ['.', ...keepOut.map((p) => `:(top,exclude,literal)${p}`)];
  await git(input.worktree, ['add', '--all', '--pathspec-from-file=-', '--pathspec-file-nul'], {
    input: `${pathspecs.join('\0')}\0`,
  });
  // In a merge, git commits even with nothing staged; inspection refuses a merge in progress.
  if (input.inspected === undefined) {
    const staged = await git(input.worktree, ['diff', '--cached', '--quiet'], {
      allowExitCodes: [1],
    });
    if (staged.exitCode === 0) return false;
  }
  const title = oneLine(input.taskTitle);
  return commitStaged(
    input,
    `parallel-executor: task ${oneLine(input.taskId)}${title ? ` — ${title}` : ''} (${oneLine(input.agent)})`,
    `Work left uncommitted by agent ${oneLine(input.agent)}, committed by parallel-executor.`,
  );
}

/**
 * An agent that runs `git add -A && git commit` commits AGENT_CONTEXT.md, TASK_SUMMARY.md and the
 * copied configuration (secrets in `.env`) along with its work; merged, every parallel pair would
 * conflict on them. Its commits stay as they are (they are its work, and must stay reachable);
 * one more commit puts those paths back exactly as they were at the task's start. The files in
 * the worktree are not touched.
 */
async function restoreToolPaths(
  input: CollectInput,
  toolPaths: ReadonlySet<string>,
): Promise<string[]> {
  // Exactly the paths whose content differs (the numstat may name a copy's unchanged source).
  const { stdout } = await git(input.worktree, [
    'diff',
    '--name-only',
    '--no-renames',
    '-z',
    input.startSha,
    'HEAD',
    '--',
  ]);
  const changed = stdout.split('\0').filter((path) => toolPaths.has(path));
  if (changed.length === 0) return [];
  // The index equals HEAD here (leftovers were just committed): reset only these entries.
  await git(
    input.worktree,
    ['reset', '--quiet', input.startSha, '--pathspec-from-file=-', '--pathspec-file-nul'],
    {
      input: `${changed.map((path) => `:(top,literal)${path}`).join('\0')}\0`,
    },
  );
  const committed = await commitStaged(
    input,
    `parallel-executor: task ${oneLine(input.taskId)} — keep the tool's files out of the branch`,
    `The agent committed files parallel-executor put in its worktree; they are restored to their state at the task's start:\n${changed.map((path) => `- ${path}`).join('\n')}`,
  );
  if (!committed) {
    throw new GitError(
      ['commit'],
      1,
      `nothing staged after restoring ${changed.join(', ')}`,
      input.worktree,
    );
  }
  return changed;
}

/**
 * The tool's own bookkeeping commit of what is staged: its identity, no hooks, no signing. False:
 * nothing was staged. With every hook off (`--no-verify` leaves prepare-commit-msg on) and the
 * message given, git's only exit 1 is "nothing to commit"; anything else fails with 128.
 */
async function commitStaged(input: CollectInput, subject: string, body: string): Promise<boolean> {
  const args = [
    ...identityArgs(input.identity),
    ...NO_HOOKS,
    'commit',
    '--quiet',
    '--no-verify',
    // Only shown when nothing is staged: no need to search the worktree for them.
    '--untracked-files=no',
    '-m',
    subject,
    '-m',
    body,
  ];
  const result = await git(input.worktree, args, { allowExitCodes: [1] });
  // "Nothing to commit" comes with the status on stdout; a silent 1 is some other failure (a
  // hook defined where hooksPath does not reach, in a later git): never read as "nothing staged".
  if (result.exitCode === 1 && result.stdout.trim() === '') {
    throw new GitError(args, 1, result.stderr || 'git commit failed silently', input.worktree);
  }
  return result.exitCode === 0;
}

async function notIgnored(worktree: string, paths: string[]): Promise<string[]> {
  const result = await git(worktree, ['check-ignore', '--stdin', '-z'], {
    input: `${paths.join('\0')}\0`,
    allowExitCodes: [1],
  });
  const ignored = new Set(result.stdout.split('\0'));
  return paths.filter((path) => !ignored.has(path));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 120);
}

interface Numstat {
  added: number;
  removed: number;
  files: string[];
  /** Every path named: `files`, and a rename's (or copy's) old name too. */
  named: string[];
}

/**
 * `added\tremoved\tpath\0` per file (a rename: `added\tremoved\t\0old\0new\0`); binary files
 * count `-` and add no lines. The paths are what `git diff --name-only` lists (a rename's new name).
 */
function readNumstat(text: string): Numstat {
  let added = 0;
  let removed = 0;
  const files: string[] = [];
  const named: string[] = [];
  const fields = text.split('\0');
  for (let i = 0; i < fields.length; i += 1) {
    const match = /^(\d+|-)\t(\d+|-)\t([^]*)$/.exec(fields[i]!);
    if (!match) continue;
    if (match[1] !== '-') added += Number(match[1]);
    if (match[2] !== '-') removed += Number(match[2]);
    if (match[3] !== '') {
      files.push(match[3]!);
      named.push(match[3]!);
    } else if (i + 2 < fields.length) {
      files.push(fields[i + 2]!);
      named.push(fields[i + 1]!, fields[i + 2]!);
      i += 2;
    }
  }
  return { added, removed, files, named };
}
