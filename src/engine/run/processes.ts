import { setTimeout as delay } from 'node:timers/promises';
import { createProcessTree, isProcessAlive, terminateTree } from '../agents/process-group.js';
import {
  describeProcess,
  describeUnread,
  findMarkedProcesses,
  stopProcesses,
  type MarkedProcess,
  type ProcessOwner,
} from '../agents/stray-processes.js';
import type { ExecutionEvent } from '../monitor/events.js';
import type { ExecutionState } from '../state/schema.js';

/** After SIGKILL only uninterruptible sleep keeps a process; do not wait forever on one. */
const KILL_WAIT_MS = 5_000;
const POLL_MS = 50;

/**
 * End an agent left behind by an orchestrator that died: its process tree (its group, and the
 * groups its descendants moved into) gets SIGTERM, then SIGKILL after the grace period. Agents
 * are started as group leaders, so the recorded pid is the group id.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  await terminateTree(createProcessTree(pgid), graceMs, KILL_WAIT_MS);
}

/** Processes an agent left running (`pid 42 (sleep 300)`): stopped, or surviving SIGKILL. */
export interface LeftBehind {
  stopped: string[];
  running: string[];
  /** Processes whose environment could not be read in time: perhaps the agent's, perhaps not. */
  unread?: string;
}

/** What a look for the execution's processes found: per task, and the processes it could not read. */
export interface ExecutionProcesses {
  byTask: Map<string, LeftBehind>;
  /** Null: every process could be read. */
  unread: string | null;
}

/** The tasks of the execution, and the repairs the state shows under way, as process owners. */
function executionOwners(state: ExecutionState): ProcessOwner[] {
  return [
    ...Object.values(state.tasks).map((run) => ({ taskId: run.task_id, worktree: run.worktree })),
    // The repair agents under way when the orchestrator stopped run in worktrees of their own.
    ...(state.integration?.repairing?.attempts ?? []),
  ].map((owner) => ({
    executionId: state.execution_id,
    taskId: owner.taskId,
    worktree: owner.worktree,
  }));
}

/**
 * The task agents a dead orchestrator left running (a task's recorded pid whose environment names
 * the execution and the task's worktree: never a process that only reuses the pid), by task id:
 * they had not finished. With `signal`, each is sent it and waited for up to `graceMs`: the
 * agent's own way to stop (Claude Code's SIGINT ends its turn), before `stopExecutionProcesses`
 * sends the SIGTERM on which it goes on asking the model while it shuts down.
 */
export async function interruptExecutionAgents(
  state: ExecutionState,
  signal: NodeJS.Signals | undefined,
  graceMs: number,
): Promise<Set<string>> {
  const marked = await findMarkedProcesses(executionOwners(state));
  const alive = (marked?.found ?? []).filter(
    (entry) => state.tasks[entry.taskId]?.pid === entry.pid,
  );
  if (signal === undefined) return new Set(alive.map((entry) => entry.taskId));
  const agents = alive.filter((entry) => {
    try {
      process.kill(entry.pid, signal);
      return true;
    } catch {
      return false;
    }
  });
  const deadline = Date.now() + graceMs;
  while (agents.some((entry) => isProcessAlive(entry.pid)) && Date.now() < deadline) {
    await delay(POLL_MS);
  }
  return new Set(alive.map((entry) => entry.taskId));
}

/**
 * Stops every process still carrying the execution's id and one of its task's worktrees (or of
 * a repair attempt the state shows under way) in its environment: what the agents started outside their trees (setsid, nohup, daemons), or the
 * agents of an orchestrator that died. Per task; null where they cannot be looked for (no /proc).
 */
export async function stopExecutionProcesses(
  state: ExecutionState,
  graceMs: number,
): Promise<ExecutionProcesses | null> {
  const marked = await findMarkedProcesses(executionOwners(state));
  if (marked === null) return null;
  const byTask = new Map<string, LeftBehind>();
  const unread = marked.unread.length > 0 ? describeUnread(marked.unread) : null;
  if (marked.found.length === 0) return { byTask, unread };
  const { stopped, running } = await stopProcesses(marked.found, graceMs, KILL_WAIT_MS);
  const add = (list: MarkedProcess[], key: 'stopped' | 'running'): void => {
    for (const entry of list) {
      const left = byTask.get(entry.taskId) ?? { stopped: [], running: [] };
      left[key].push(describeProcess(entry));
      byTask.set(entry.taskId, left);
    }
  };
  add(stopped, 'stopped');
  add(running, 'running');
  return { byTask, unread };
}

/**
 * Tells the user about processes left running: those stopped in a note, those that survived
 * SIGKILL in a warning, recorded on the task too (the user has to end them). `when` says at
 * what point they were found ("after the agent ended").
 */
export function reportLeftBehind(
  state: ExecutionState,
  emit: (event: ExecutionEvent) => void,
  taskId: string | null,
  left: LeftBehind,
  when: string,
): void {
  if (left.unread !== undefined) reportUnread(state, emit, taskId, left.unread, when);
  if (left.stopped.length > 0) {
    emit({
      type: 'note',
      taskId,
      message: `stopped ${left.stopped.length} process(es) left running ${when}: ${left.stopped.join(', ')}`,
    });
  }
  if (left.running.length === 0) return;
  const message = `${left.running.length} process(es) left running ${when} could not be stopped, even with SIGKILL: ${left.running.join(', ')}; end them yourself (kill -9 <pid>)`;
  const run = taskId === null ? undefined : state.tasks[taskId];
  if (run !== undefined) run.warnings = [...(run.warnings ?? []), message];
  emit({ type: 'warning', taskId: run === undefined ? null : taskId, message });
}

/**
 * The sweep at the end of a run (and of a resume): anything of the execution still running is
 * stopped and reported. Without /proc the check cannot be made, which is said once, here.
 * Returns whether it looked and found nothing.
 */
export async function sweepExecutionProcesses(
  state: ExecutionState,
  emit: (event: ExecutionEvent) => void,
  graceMs: number,
  when: string,
): Promise<boolean> {
  const found = await stopExecutionProcesses(state, graceMs);
  if (found === null) {
    emit({
      type: 'warning',
      taskId: null,
      message:
        'cannot look for processes the agents left running (setsid, nohup, daemons): this system has no /proc. Check for them yourself (e.g. `ps -A -o pid,command`).',
    });
    return false;
  }
  for (const [taskId, left] of found.byTask) reportLeftBehind(state, emit, taskId, left, when);
  if (found.unread !== null) reportUnread(state, emit, null, found.unread, when);
  return found.byTask.size === 0 && found.unread === null;
}

/**
 * Processes whose environment could not be read (the kernel held the read: a process stuck in
 * a page fault on a dead network mount, say): not stopped, since they may be anyone's, but named,
 * since they may be what an agent left running.
 */
export function reportUnread(
  state: ExecutionState,
  emit: (event: ExecutionEvent) => void,
  taskId: string | null,
  unread: string,
  when: string,
): void {
  const message = `could not tell whether some processes were left running ${when}: the environment of ${unread} could not be read within seconds (the process is stuck in the kernel, a page fault on a dead network mount for example), so it was neither stopped nor waited for. If it is one an agent started, end it yourself (kill -9 <pid>)`;
  const run = taskId === null ? undefined : state.tasks[taskId];
  if (run !== undefined) run.warnings = [...(run.warnings ?? []), message];
  emit({ type: 'warning', taskId: run === undefined ? null : taskId, message });
}
