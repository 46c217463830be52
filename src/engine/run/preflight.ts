import { statfs } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { ParallelExecutorError } from '../errors.js';
import type { AgentRunner } from '../ports/agent-runner.js';
import { git } from '../workspace/git-exec.js';
import { portInUse } from '../workspace/ports.js';
import { replicatedFiles } from '../workspace/replicate.js';
import { userDirtyFiles, type RepoInfo } from '../workspace/repo.js';
import { pathExists } from '../path-exists.js';
import { listExecutions } from './executions.js';
import { worktreeRootCheck } from './worktree-root.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface PreflightCheck {
  name: string;
  level: CheckLevel;
  detail: string;
  hint: string | null;
}

/** Phase 1's go/no-go report: every check, so the user fixes all problems in one go. */
export interface PreflightReport {
  go: boolean;
  checks: PreflightCheck[];
}

export interface PreflightInput {
  repo: RepoInfo;
  /** Tasks to run (one worktree each) and tasks the plan already marks completed. */
  taskCount: number;
  completedCount: number;
  worktreeRoot: string;
  minFreeDiskMb: number;
  requiredEnv: readonly string[];
  /** The environment the agents will get. */
  env: Record<string, string>;
  /** First port of each agent's range. */
  ports: Map<string, number>;
  portsPerAgent: number;
  runner: AgentRunner | null;
  /** `workspace.replicate`: untracked files there (and in `.env*`, `.claude/`) are copied into every worktree. */
  replicate?: readonly string[];
  /** The checkout's tracked files, when the caller lists them anyway (the run keeps them). */
  tracked?: Promise<Set<string>>;
  /** The ids of the tasks to run: earlier integrations of theirs not merged yet are named. */
  taskIds?: readonly string[];
}

export async function runPreflight(input: PreflightInput): Promise<PreflightReport> {
  // The slow ones (the checkout's size, ports, the agent's own check) at once, reported in order.
  const found = await Promise.all([
    planCheck(input),
    unmergedCheck(input),
    headCheck(input.repo),
    (input.tracked ?? Promise.resolve(undefined))
      .then((tracked) => replicatedFiles(input.repo.root, input.replicate ?? [], tracked))
      .then((files) => cleanCheck(input.repo, files)),
    worktreeRootCheck(input.repo.root, input.worktreeRoot),
    diskCheck(input),
    envCheck(input),
    portCheck(input),
    agentCheck(input),
  ]);
  const checks = found.filter((check): check is PreflightCheck => check !== null);
  return { go: checks.every((check) => check.level !== 'fail'), checks };
}

/** The latest executions looked at for an integration branch not merged yet. */
const UNMERGED_LOOKED_AT = 3;

/**
 * A task to run that an earlier execution already integrated, on a branch not merged into HEAD:
 * the plan on HEAD still says pending (its statuses are on that branch), so the task runs and is
 * paid for again. A user who ran, did not merge, and ran again got the same three tasks redone
 * without a word. A warning, not a failure: running again may be what they want.
 */
async function unmergedCheck(input: PreflightInput): Promise<PreflightCheck | null> {
  const ids = new Set(input.taskIds ?? []);
  if (ids.size === 0) return null;
  const earlier = (await listExecutions(input.repo.root).catch(() => []))
    .map((entry) => entry.state?.integration ?? null)
    .filter((integration) => integration !== null)
    .filter((integration) => integration.merged.some((id) => ids.has(id)))
    .slice(-UNMERGED_LOOKED_AT)
    .reverse();
  for (const integration of earlier) {
    const tip = await git(
      input.repo.root,
      ['rev-parse', '--verify', '--quiet', `refs/heads/${integration.branch}`],
      { allowExitCodes: [1] },
    );
    // Deleted since: the user's own doing, not this run's to question. (Its tip is past headSha:
    // the report and the plan's statuses are committed on it after the merges.)
    if (tip.exitCode !== 0) continue;
    const merged = await git(
      input.repo.root,
      ['merge-base', '--is-ancestor', integration.headSha, input.repo.headSha],
      { allowExitCodes: [1] },
    );
    if (merged.exitCode === 0) continue;
    const again = integration.merged.filter((id) => ids.has(id));
    const where = input.repo.branch ?? 'HEAD';
    return check(
      'earlier run',
      'warn',
      `${integration.branch} holds ${again.join(', ')}, not merged into ${where}: they run again`,
      `To keep that work instead, stop here and merge it first (git merge --no-ff ${integration.branch}); delete the branch if you do not want it.`,
    );
  }
  return null;
}

function check(name: string, level: CheckLevel, detail: string, hint: string | null = null) {
  return { name, level, detail, hint };
}

function planCheck(input: PreflightInput): PreflightCheck {
  if (input.taskCount === 0) {
    return check('plan', 'fail', 'no task to run', 'Every selected task is already completed.');
  }
  const done =
    input.completedCount > 0 ? `, ${input.completedCount} already completed (not re-run)` : '';
  return check('plan', 'ok', `${input.taskCount} task(s) to run${done}`);
}

function headCheck(repo: RepoInfo): PreflightCheck {
  if (repo.branch === null) {
    return check(
      'branch',
      'fail',
      `HEAD is detached at ${repo.headSha.slice(0, 12)}`,
      'Check out a branch (git switch -c <name>): task branches start from it and integrate back into it.',
    );
  }
  return check('branch', 'ok', `${repo.branch} at ${repo.headSha.slice(0, 12)}`);
}

/**
 * Uncommitted changes would be missing from every worktree, except the untracked configuration
 * the workspace step copies into each one (a local `.claude/settings.json`, `.env`): those are fine.
 */
function cleanCheck(repo: RepoInfo, copied: readonly string[]): PreflightCheck {
  const copies = new Set(copied);
  const dirty = userDirtyFiles(repo).filter((path) => !copies.has(path));
  if (dirty.length === 0) {
    const shown = copied.slice(0, 5).join(', ') + (copied.length > 5 ? ', …' : '');
    return check(
      'working tree',
      'ok',
      copied.length === 0 ? 'clean' : `clean (copied into each worktree: ${shown})`,
    );
  }
  const shown = dirty.slice(0, 20).join(', ');
  const more = dirty.length > 20 ? ` and ${dirty.length - 20} more` : '';
  return check(
    'working tree',
    'fail',
    `uncommitted changes in ${dirty.length} file(s): ${shown}${more}`,
    'Commit or stash them (git stash -u) first: agents start from the last commit and would not see them.',
  );
}

async function diskCheck(input: PreflightInput): Promise<PreflightCheck> {
  const checkoutBytes = await checkoutSize(input.repo.root);
  const neededMb = Math.ceil((checkoutBytes * input.taskCount) / 2 ** 20) + input.minFreeDiskMb;
  const freeMb = await freeSpaceMb(input.worktreeRoot);
  const detail = `${freeMb} MB free, ~${neededMb} MB needed (${input.taskCount} worktree(s) of ~${Math.ceil(checkoutBytes / 2 ** 20)} MB + ${input.minFreeDiskMb} MB reserve)`;
  if (freeMb < neededMb) {
    return check(
      'disk',
      'fail',
      detail,
      'Free some space, lower workspace.minFreeDiskMb, or run fewer tasks (--group).',
    );
  }
  return check('disk', 'ok', detail);
}

/**
 * The size of a checkout of HEAD. From the index's file sizes (`ls-files --debug`: no object is
 * read, where `ls-tree -l` opens every blob: seconds for 30,000 loose objects, before anything can
 * start); from HEAD's blobs when the index says nothing.
 */
async function checkoutSize(root: string): Promise<number> {
  const index = await git(root, ['ls-files', '--debug'], { allowExitCodes: [128] });
  let indexed = 0;
  for (const match of index.stdout.matchAll(/^ {2}size: (\d+)/gm)) indexed += Number(match[1]);
  if (indexed > 0) return indexed;
  const { stdout } = await git(root, ['ls-tree', '-r', '-l', '-z', 'HEAD']);
  let total = 0;
  for (const record of stdout.split('\0')) {
    const size = Number(record.split(/\s+/)[3]);
    if (Number.isFinite(size)) total += size;
  }
  return total;
}

async function freeSpaceMb(path: string): Promise<number> {
  let dir = path;
  while (!(await pathExists(dir)) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = await statfs(dir);
  return Math.floor((stats.bavail * stats.bsize) / 2 ** 20);
}

function envCheck(input: PreflightInput): PreflightCheck {
  if (input.requiredEnv.length === 0) return check('environment', 'ok', 'no variable required');
  const missing = input.requiredEnv.filter((name) => !input.env[name]);
  if (missing.length > 0) {
    return check(
      'environment',
      'fail',
      `missing: ${missing.join(', ')}`,
      'Set them in the environment (workspace.requiredEnv in .github/parallel-executor.yml lists them).',
    );
  }
  return check('environment', 'ok', `${input.requiredEnv.join(', ')} set`);
}

async function portCheck(input: PreflightInput): Promise<PreflightCheck> {
  const starts = [...input.ports.values()];
  const last = Math.max(...starts) + input.portsPerAgent - 1;
  if (last > 65535) {
    return check(
      'ports',
      'fail',
      `port ranges end at ${last}, above 65535`,
      'Lower workspace.portBase or workspace.portsPerAgent.',
    );
  }
  const busy: number[] = [];
  for (const port of starts) if (await portInUse(port)) busy.push(port);
  const detail = `${input.ports.size} range(s) of ${input.portsPerAgent} from ${Math.min(...starts)}`;
  if (busy.length > 0) {
    return check(
      'ports',
      'warn',
      `${detail}; already in use: ${busy.join(', ')}`,
      'Agents that start servers on $PE_PORT may fail; change workspace.portBase.',
    );
  }
  return check('ports', 'ok', detail);
}

async function agentCheck(input: PreflightInput): Promise<PreflightCheck> {
  const { runner } = input;
  if (runner === null) return check('agent', 'ok', 'not checked');
  try {
    await runner.preflight();
  } catch (error) {
    const hint = error instanceof ParallelExecutorError ? error.hint : null;
    return check('agent', 'fail', `${runner.kind}: ${(error as Error).message}`, hint);
  }
  const problem =
    runner.command === undefined ? null : await commandPathProblem(input, runner.command);
  if (problem !== null)
    return check('agent', 'fail', `${runner.kind}: ${problem.detail}`, problem.hint);
  return check('agent', 'ok', runner.kind);
}

/**
 * The program a command agent names by a path (`./scripts/agent.sh`, `tools/run`, `/opt/agent`),
 * looked for where it will run: each task's worktree is a new checkout of HEAD plus the replicated
 * files, so a relative path must be committed there (executable) or replicated; a script only in
 * the checkout, ignored or not yet added, failed every task with `sh: ./agent.sh: not found` after
 * a pre-flight that said GO. Commands that start otherwise (a program on PATH, `sh x.sh`, quotes,
 * variables, `VAR=value cmd`) are not second-guessed.
 */
async function commandPathProblem(
  input: PreflightInput,
  command: string,
): Promise<{ detail: string; hint: string } | null> {
  const program = /^\s*([^\s'"$`=;&|<>()\\]+)(?:\s|$)/.exec(command)?.[1];
  if (program === undefined || !program.includes('/')) return null;
  if (isAbsolute(program)) {
    if (await pathExists(program)) return null;
    return {
      detail: `the agent command's program ${program} does not exist`,
      hint: 'Give the path of your agent program, or fix agent.command / --agent-command.',
    };
  }
  const { root, headSha, branch } = input.repo;
  const rel = posix.normalize(program);
  if (rel === '..' || rel.startsWith('../')) {
    return {
      detail: `the agent command runs ${program}, a path above the task's worktree it runs in (under ${input.worktreeRoot})`,
      hint: 'Give the absolute path of your agent program.',
    };
  }
  const at = `${branch ?? 'HEAD'} at ${headSha.slice(0, 12)}`;
  const fix = `Commit it, give its absolute path (${join(root, rel)}), or list it in workspace.replicate in .github/parallel-executor.yml (copied into every worktree).`;
  const entry = await git(root, ['ls-tree', headSha, '--', rel], { allowExitCodes: [128] });
  const mode = /^(\d+) blob /.exec(entry.stdout)?.[1];
  if (mode === '100644') {
    return {
      detail: `the agent command runs ${program}, which is committed without its executable bit`,
      hint: `Run \`git update-index --chmod=+x ${rel}\` and commit, or start the command with \`sh ${program}\`.`,
    };
  }
  if (mode !== undefined) return null;
  const replicated = await (input.tracked ?? Promise.resolve(undefined)).then((tracked) =>
    replicatedFiles(root, input.replicate ?? [], tracked),
  );
  if (replicated.includes(rel)) return null;
  if (await pathExists(join(root, rel))) {
    return {
      detail: `the agent command runs ${program}, which is in your checkout but not committed: each task runs in a new worktree of ${at}, where it is not`,
      hint: fix,
    };
  }
  return {
    detail: `the agent command runs ${program}, which is not in the repository (${at}); it runs in each task's worktree, from its root`,
    hint: fix,
  };
}
