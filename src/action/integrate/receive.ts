/**
 * The publish job's side of the result: what the integrate job wrote, read as untrusted input (it
 * ran agent-written code, which could have rewritten any of it). Only what is expected gets
 * through: the state and `result.json` of this execution from this run's base commit (the publish
 * job's own checkout, never a file of the result); the bundle must verify and hold exactly the
 * branches `result.json` names, each at the commit it claims; each task branch must be the name the
 * engine gives that task, not a protected branch, not one the remote has elsewhere; the integration
 * branch must be the execution's; each must descend from the base, change no workflow file unless
 * the config allows it, and the integration branch must contain every task the state calls merged.
 * The refs are fetched into a private namespace with hardened git, nothing is checked out.
 */
import { join } from 'node:path';
import type { ExecutionState } from '../../engine/state/schema.js';
import type { Plan } from '../../engine/plan/schema.js';
import { branchNameProblem, remoteBranches } from './bundles.js';
import {
  integrationSourceRef,
  isRegularFile,
  readResultFile,
  readStateFile,
  RESULT_BUNDLE,
  type ResultFile,
} from './result.js';
import { planBlobAt, safeGit, workflowChangeProblem, workflowChanges } from './safe-git.js';
import { tasksChangedBeyondStatuses } from '../../engine/finish/plan-edits.js';

/** Where the publish job keeps the commits it received until it pushes them. */
const RECEIVED_NAMESPACE = 'refs/parallel-executor/received';

export interface ReceivedBranch {
  /** The task id, or null for the integration branch. */
  taskId: string | null;
  branch: string;
  head: string;
  /** Why it is not pushed; null: it may be. */
  problem: string | null;
}

export type ReceivedResult =
  | {
      ok: true;
      result: ResultFile;
      state: ExecutionState;
      tasks: ReceivedBranch[];
      integration: ReceivedBranch | null;
    }
  | { ok: false; problem: string };

export interface ReceiveInput {
  root: string;
  dir: string;
  executionId: string;
  /** The commit the run checked out: the publish job's own HEAD. */
  baseSha: string;
  plan: Plan;
  integrationBranch: string;
  /** Never accepted as a task branch (the base branch, the integration branch). */
  protectedBranches: ReadonlySet<string>;
  allowWorkflowChanges: boolean;
  /** The plan's path in the repository (`/`-separated): the next wave runs its tasks as written. */
  planFile: string;
}

export async function receiveResult(input: ReceiveInput): Promise<ReceivedResult> {
  const refuse = (problem: string): ReceivedResult => ({ ok: false, problem });
  const resultFile = await readResultFile(input.dir);
  if (!resultFile.ok) return refuse(resultFile.problem);
  const stateFile = await readStateFile(input.dir);
  if (!stateFile.ok) return refuse(stateFile.problem);
  const result = resultFile.value;
  const state = stateFile.value;
  const identity = identityProblem(result, state, input);
  if (identity) return refuse(identity);

  const fetched = await fetchResultBundle(input, result);
  if (fetched) return refuse(fetched);

  const remote = await remoteBranches(input.root);
  const tasks: ReceivedBranch[] = [];
  for (const entry of result.task_branches) {
    tasks.push({
      taskId: entry.task_id,
      branch: entry.branch,
      head: entry.head_sha,
      problem: await taskBranchProblem(input, state, entry, remote, tasks),
    });
  }
  let integration: ReceivedBranch | null = null;
  if (result.integration) {
    const { head_sha: head } = result.integration;
    integration = {
      taskId: null,
      branch: input.integrationBranch,
      head,
      problem:
        (await lineProblem(input, head)) ??
        (await planProblem(input, head)) ??
        (await mergedProblem(input.root, state, result, tasks, head)),
    };
  }
  return { ok: true, result, state, tasks, integration };
}

/** The result and the state must be this execution's, from this run's base, about the plan's tasks. */
function identityProblem(
  result: ResultFile,
  state: ExecutionState,
  input: ReceiveInput,
): string | null {
  if (result.execution_id !== input.executionId || state.execution_id !== input.executionId) {
    return `the result belongs to execution ${result.execution_id}, not ${input.executionId}`;
  }
  if (result.base_sha !== input.baseSha || state.base_sha !== input.baseSha) {
    return `the result starts from ${result.base_sha.slice(0, 12)}, but this run is on ${input.baseSha.slice(0, 12)}`;
  }
  if (result.integration && result.integration.branch !== input.integrationBranch) {
    return `the result names the integration branch ${result.integration.branch}, not ${input.integrationBranch}`;
  }
  if (state.integration && state.integration.branch !== input.integrationBranch) {
    return `the state names the integration branch ${state.integration.branch}, not ${input.integrationBranch}`;
  }
  // Merges are checked against the integration branch's commits: without one, none can be true.
  const merged = state.integration?.merged ?? [];
  if (result.integration === null && merged.length > 0) {
    return `the state calls task ${merged[0]} merged, but the result holds no integration branch`;
  }
  // The integrate job leaves an integration branch only when something landed on it.
  if (result.integration !== null && merged.length === 0) {
    return `the result names the integration branch ${result.integration.branch}, but the state merged no task into it`;
  }
  const stranger = state.task_order.find((id) => !input.plan.tasks.some((t) => t.id === id));
  if (stranger !== undefined) return `the state names task ${stranger}, which is not in the plan`;
  const unknown = Object.keys(state.tasks).find((id) => !state.task_order.includes(id));
  if (unknown !== undefined) return `the state holds task ${unknown} outside its task order`;
  return null;
}

/**
 * Verify the bundle against this repository and fetch exactly the expected refs. A bundle with
 * any other ref, or a ref at another commit than claimed, is refused whole.
 */
async function fetchResultBundle(input: ReceiveInput, result: ResultFile): Promise<string | null> {
  const expected = new Map<string, string>();
  for (const t of result.task_branches) {
    if (t.head_sha !== input.baseSha) expected.set(`refs/heads/${t.branch}`, t.head_sha);
  }
  if (result.integration) {
    expected.set(integrationSourceRef(input.executionId), result.integration.head_sha);
  }
  await clearReceived(input.root);
  if (result.bundle === null) {
    return expected.size === 0 ? null : 'the result names new commits but holds no bundle';
  }
  const path = join(input.dir, RESULT_BUNDLE);
  if (!(await isRegularFile(path))) return `${RESULT_BUNDLE} is missing or not a regular file`;
  const verify = await safeGit(input.root, ['bundle', 'verify', '--quiet', path], {
    allowExitCodes: [1, 128],
  });
  if (verify.exitCode !== 0) {
    return `the bundle does not verify: ${lastLine(verify.stderr || verify.stdout)}`;
  }
  const heads = await safeGit(input.root, ['bundle', 'list-heads', path]);
  const listed = heads.stdout.split('\n').filter(Boolean);
  const seen = new Set<string>();
  for (const line of listed) {
    const [sha, ref] = line.split(' ') as [string, string | undefined];
    if (ref === undefined || expected.get(ref) !== sha || seen.has(ref)) {
      return `the bundle holds ${line}, which the result does not name`;
    }
    seen.add(ref);
  }
  const missing = [...expected.keys()].find((ref) => !seen.has(ref));
  if (missing !== undefined) return `the bundle does not hold ${missing}`;
  const refspecs = [...expected.keys()].map((ref) => `${ref}:${receivedRef(ref)}`);
  const fetch = await safeGit(
    input.root,
    ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', path, ...refspecs],
    { allowExitCodes: [1, 128] },
  );
  if (fetch.exitCode !== 0) {
    return `the bundle could not be fetched: ${lastLine(fetch.stderr)}`;
  }
  for (const [ref, sha] of expected) {
    const got = await safeGit(input.root, [
      'rev-parse',
      '--verify',
      `${receivedRef(ref)}^{commit}`,
    ]);
    if (got.stdout.trim() !== sha) return `${ref} arrived at ${got.stdout.trim()}, not ${sha}`;
  }
  return null;
}

async function taskBranchProblem(
  input: ReceiveInput,
  state: ExecutionState,
  entry: ResultFile['task_branches'][number],
  remote: Map<string, string>,
  earlier: readonly ReceivedBranch[],
): Promise<string | null> {
  const task = input.plan.tasks.find((t) => t.id === entry.task_id);
  if (!task || !state.task_order.includes(entry.task_id)) {
    return `task ${entry.task_id} is not part of this run`;
  }
  if (earlier.some((b) => b.taskId === entry.task_id || b.branch === entry.branch)) {
    return `task ${entry.task_id} or branch ${entry.branch} appears twice`;
  }
  if (state.tasks[entry.task_id]!.branch !== entry.branch) {
    return `branch ${entry.branch} is not the one the state records for task ${entry.task_id}`;
  }
  const name = await branchNameProblem(input.root, entry.branch, task, input.protectedBranches);
  if (name) return name;
  const onRemote = remote.get(entry.branch);
  if (onRemote !== undefined && onRemote !== entry.head_sha) {
    return `branch ${entry.branch} already exists on the remote at another commit`;
  }
  return lineProblem(input, entry.head_sha);
}

/** A branch to push must descend from the base and, unless allowed, leave workflow files alone. */
async function lineProblem(input: ReceiveInput, head: string): Promise<string | null> {
  if (!(await isAncestor(input.root, input.baseSha, head))) {
    return `${head.slice(0, 12)} does not descend from the base ${input.baseSha.slice(0, 12)}`;
  }
  if (input.allowWorkflowChanges) return null;
  const paths = await workflowChanges(input.root, input.baseSha, head);
  return paths.length === 0 ? null : workflowChangeProblem(paths);
}

/**
 * The next wave checks out the integration branch and runs the plan's tasks as that plan writes
 * them: the integrate job writes statuses on it and drops an agent's edit of a task, so anything
 * more (a task added, a prompt rewritten, a dependency removed) came from code the agents wrote.
 */
async function planProblem(input: ReceiveInput, head: string): Promise<string | null> {
  const before = await planBlobAt(input.root, input.baseSha, input.planFile);
  if (before === null) return null;
  const after = await planBlobAt(input.root, head, input.planFile);
  if (after === before) return null;
  const changed = after === null ? 'it is not there' : tasksChangedBeyondStatuses(before, after);
  if (changed === null) return null;
  return `changes the plan's tasks (${input.planFile}: ${changed}): the next wave would run them as written there, and the integrate job writes only statuses on the plan`;
}

/** Nothing falsely merged: each task the state calls merged is in the integration branch. */
async function mergedProblem(
  root: string,
  state: ExecutionState,
  result: ResultFile,
  tasks: readonly ReceivedBranch[],
  head: string,
): Promise<string | null> {
  for (const id of state.integration?.merged ?? []) {
    const branch = result.task_branches.find((t) => t.task_id === id);
    if (!branch) return `the state calls task ${id} merged, but the result holds no branch for it`;
    if (tasks.find((t) => t.taskId === id)?.problem) {
      return `task ${id} is merged into it, but its own branch was refused`;
    }
    if (!(await isAncestor(root, branch.head_sha, head))) {
      return `the state calls task ${id} merged, but its head is not in the integration branch`;
    }
  }
  return null;
}

export async function isAncestor(root: string, ancestor: string, commit: string): Promise<boolean> {
  const result = await safeGit(root, ['merge-base', '--is-ancestor', ancestor, commit], {
    allowExitCodes: [1, 128],
  });
  return result.exitCode === 0;
}

function receivedRef(ref: string): string {
  return `${RECEIVED_NAMESPACE}/${ref.replace(/^refs\//, '')}`;
}

/** Refs another attempt of this job left there would only confuse the checks. */
async function clearReceived(root: string): Promise<void> {
  const { stdout } = await safeGit(root, [
    'for-each-ref',
    '--format=%(refname)',
    RECEIVED_NAMESPACE,
  ]);
  const refs = stdout.split('\n').filter(Boolean);
  if (refs.length === 0) return;
  await safeGit(root, ['update-ref', '--stdin'], {
    input: refs.map((ref) => `delete ${ref}\n`).join(''),
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
