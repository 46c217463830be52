/**
 * The agent legs' bundles, as actions/download-artifact lays them out (`<bundle-dir>/agent-<task>/`),
 * read as untrusted input: an agent ran on the machine that wrote them. Each `task.json` is
 * validated, its branch must be the name the engine gives that task (so a forged file cannot
 * aim a push at `main`), the bundle must verify against this checkout and hold exactly that
 * branch at the head it claims; only then is it fetched into the local branch.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Plan, Task } from '../../engine/plan/schema.js';
import { leadAgent } from '../../engine/run/layout.js';
import { git } from '../../engine/workspace/git-exec.js';
import {
  defaultBranchName,
  isValidBranchName,
  sanitizeBranchName,
} from '../../engine/workspace/refs.js';
import {
  artifactName,
  BUNDLE_FILE,
  isArtifactOf,
  readTaskFile,
  type TaskFile,
} from '../task-file.js';
import { escapeRegExp } from '../../engine/regexp.js';

export interface ReceivedTask {
  /** Absolute folder of the task's artifact. */
  dir: string;
  file: TaskFile;
  /** The task branch is in the local repository at `file.head_sha` (false: nothing to fetch). */
  fetched: boolean;
  /** Why the bundle could not be used; its task then cannot be integrated. */
  problem: string | null;
}

export interface BundleProblem {
  folder: string;
  problem: string;
}

export interface ReadBundlesResult {
  tasks: ReceivedTask[];
  /** Folders that are not a usable task bundle of this execution. */
  problems: BundleProblem[];
}

export async function readBundles(
  bundleDir: string,
  executionId: string,
  plan: Plan,
): Promise<ReadBundlesResult> {
  const result: ReadBundlesResult = { tasks: [], problems: [] };
  const entries = await readdir(bundleDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || !entry.name.startsWith('agent-')) continue;
    const dir = join(bundleDir, entry.name);
    const reading = await readTaskFile(dir);
    if (!reading.ok) {
      result.problems.push({ folder: entry.name, problem: reading.problem });
      continue;
    }
    const { file } = reading;
    if (!isArtifactOf(entry.name, file.task_id)) {
      result.problems.push({
        folder: entry.name,
        problem: `holds task ${file.task_id}, expected in ${artifactName(file.task_id)}`,
      });
    } else if (file.execution_id !== executionId) {
      result.problems.push({
        folder: entry.name,
        problem: `belongs to execution ${file.execution_id}, not ${executionId}`,
      });
    } else if (!plan.tasks.some((t) => t.id === file.task_id)) {
      result.problems.push({
        folder: entry.name,
        problem: `task ${file.task_id} is not in the plan`,
      });
    } else {
      result.tasks.push({ dir, file, fetched: false, problem: null });
    }
  }
  // Two bundles for one task: another leg's agent uploaded one under its name (the run's artifact
  // token is within an agent's reach). Which is the task's own cannot be told: neither is taken.
  for (const task of [...result.tasks]) {
    const same = result.tasks.filter((t) => t.file.task_id === task.file.task_id);
    if (same.length < 2) continue;
    const folders = same.map((t) => basename(t.dir));
    result.tasks = result.tasks.filter((t) => t.file.task_id !== task.file.task_id);
    for (const folder of folders) {
      result.problems.push({
        folder,
        problem: `task ${task.file.task_id} has ${folders.length} bundles (${folders.join(', ')}): one was uploaded by another job, whose agent can reach the run's artifact token; neither is integrated`,
      });
    }
  }
  return result;
}

/**
 * Verify and fetch each bundle into its task branch. `protectedBranches` (the base, the
 * integration branch) are never accepted as a task branch, and neither is a branch the remote
 * already has at another commit.
 */
export async function fetchBundles(
  root: string,
  received: ReceivedTask[],
  plan: Plan,
  baseSha: string,
  protectedBranches: ReadonlySet<string>,
): Promise<void> {
  const remote = await remoteBranches(root);
  for (const task of received) {
    task.problem = await fetchOne(root, task, plan, baseSha, protectedBranches, remote);
    task.fetched = task.problem === null && task.file.bundle !== null;
  }
}

async function fetchOne(
  root: string,
  task: ReceivedTask,
  plan: Plan,
  baseSha: string,
  protectedBranches: ReadonlySet<string>,
  remote: Map<string, string>,
): Promise<string | null> {
  const { file } = task;
  const planTask = plan.tasks.find((t) => t.id === file.task_id)!;
  const nameProblem = await branchNameProblem(root, file.branch, planTask, protectedBranches);
  if (nameProblem) return nameProblem;
  if (file.base_sha !== baseSha) {
    return `started from ${file.base_sha.slice(0, 12)}, but this run is on ${baseSha.slice(0, 12)}`;
  }
  const onRemote = remote.get(file.branch);
  if (onRemote !== undefined && onRemote !== file.head_sha) {
    return `branch ${file.branch} already exists on the remote at another commit`;
  }
  if (file.bundle === null) {
    if (file.head_sha !== baseSha) return 'head differs from the base but no bundle was written';
    // Nothing changed: the branch is the base, so integration has something to (not) merge.
    await git(root, ['branch', '--force', file.branch, baseSha]);
    return null;
  }
  const path = join(task.dir, BUNDLE_FILE);
  const verify = await git(root, ['bundle', 'verify', '--quiet', path], {
    allowExitCodes: [1, 128],
  });
  if (verify.exitCode !== 0) {
    return `the bundle does not verify: ${lastLine(verify.stderr || verify.stdout)}`;
  }
  const heads = await git(root, ['bundle', 'list-heads', path]);
  const expected = `${file.head_sha} refs/heads/${file.branch}`;
  const listed = heads.stdout.split('\n').filter(Boolean);
  if (listed.length !== 1 || listed[0] !== expected) {
    return `the bundle holds ${listed.join(', ') || 'nothing'}, expected ${expected}`;
  }
  const fetched = await git(
    root,
    ['fetch', '--quiet', '--no-tags', path, `+refs/heads/${file.branch}:refs/heads/${file.branch}`],
    { allowExitCodes: [1, 128] },
  );
  return fetched.exitCode === 0
    ? null
    : `the bundle could not be fetched: ${lastLine(fetched.stderr)}`;
}

/**
 * The branch must be the one the engine names this task (`agent/<agent>/<slug>`, or the plan's
 * own branch made safe), possibly with the `-N` suffix or the flattened form that keeps it unique.
 */
export async function branchNameProblem(
  root: string,
  branch: string,
  task: Task,
  protectedBranches: ReadonlySet<string>,
): Promise<string | null> {
  if (protectedBranches.has(branch)) return `branch ${branch} is protected from task pushes`;
  if (!(await isValidBranchName(root, branch))) return `"${branch}" is not a valid branch name`;
  const named = task.branch === null ? null : sanitizeBranchName(task.branch);
  const wanted = [defaultBranchName(leadAgent(task), task.id, task.title), named].filter(
    (name): name is string => name !== null,
  );
  const forms = wanted.flatMap((name) => [name, name.replaceAll('/', '-')]);
  const ok = forms.some(
    (form) => branch === form || new RegExp(`^${escapeRegExp(form)}-\\d+$`).test(branch),
  );
  return ok ? null : `branch ${branch} is not a name the engine gives task ${task.id}`;
}

/** Branch name → commit, of the remote-tracking branches a full checkout fetched. */
export async function remoteBranches(root: string): Promise<Map<string, string>> {
  const { stdout } = await git(root, [
    'for-each-ref',
    '--format=%(objectname) %(refname:lstrip=3)',
    'refs/remotes/origin',
  ]);
  const map = new Map<string, string>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const [sha, ...name] = line.split(' ');
    map.set(name.join(' '), sha!);
  }
  return map;
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
