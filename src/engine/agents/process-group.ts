import { procPids, statFields } from './proc.js';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Signals and liveness for an agent's whole process tree. The agent is spawned as a group leader
 * (`detached: true`), so its shells and test runners share its pgid; but some children start
 * their own session: Claude Code runs every Bash command under `setsid`, so killing its group
 * alone leaves a `sleep 1000` (or a dev server) running. On Linux the tree is therefore also
 * walked in /proc, and each process group a descendant moved into is stopped with the agent's.
 * A process that left both the tree and the known groups (double fork + setsid between two
 * looks) escapes; nothing short of cgroups catches that.
 */
export interface ProcessTree {
  /**
   * Learns the groups of the leader's descendants; cheap enough to call every few seconds.
   * `shared`: a process table up to a second old, read for another tree, will do (the periodic look).
   */
  refresh(options?: { shared?: boolean }): void;
  /** Sends `signal` to every known group; false when none of them had a process left. */
  signal(signal: NodeJS.Signals): boolean;
  /** True while a known group has a member that is not a zombie. */
  isAlive(): boolean;
  /** True while a known group has a member (a zombie counts): a signal probe, no look at /proc. */
  anyGroupLeft(): boolean;
  /** Polls until the tree is gone or `timeoutMs` passed; true when it is gone. */
  waitForExit(timeoutMs: number): Promise<boolean>;
  groups(): number[];
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
}

export function createProcessTree(leader: number): ProcessTree {
  const groups = new Set<number>([leader]);
  // Never signal our own group (or init's), whatever /proc says.
  const protectedGroups = new Set<number>([0, 1, ownProcessGroup() ?? 0]);

  const learn = (table: ProcessInfo[]): void => {
    const children = new Map<number, ProcessInfo[]>();
    for (const info of table) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info]);
    const roots = table
      .filter((info) => info.pid === leader || groups.has(info.pgid))
      .map((info) => info.pid);
    const seen = new Set<number>();
    const stack = [...roots];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      for (const child of children.get(pid) ?? []) {
        if (!protectedGroups.has(child.pgid)) groups.add(child.pgid);
        stack.push(child.pid);
      }
    }
  };

  const isAlive = (): boolean => {
    const reachable = [...groups].filter((group) => signalGroup(group, 0));
    if (reachable.length === 0) return false;
    const table = processTable();
    // Without /proc (macOS) the kill probe is all there is.
    if (table === null) return true;
    learn(table);
    return table.some((info) => groups.has(info.pgid) && isRunningState(info.state));
  };

  return {
    refresh(options = {}) {
      const table = options.shared === true ? sharedProcessTable() : processTable();
      if (table !== null) learn(table);
    },
    signal(signal) {
      let reached = false;
      for (const group of groups) reached = signalGroup(group, signal) || reached;
      return reached;
    },
    isAlive,
    anyGroupLeft: () => [...groups].some((group) => signalGroup(group, 0)),
    async waitForExit(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!isAlive()) return true;
        if (Date.now() >= deadline) return false;
        await delay(50);
      }
    },
    groups: () => [...groups],
  };
}

/**
 * Stops a whole tree: SIGTERM to every group, SIGKILL to what is left after `graceMs`. Resolves
 * once the tree is gone, or `killWaitMs` after the SIGKILL (a process in uninterruptible sleep
 * outlives even that, and waiting for it forever would hang the caller).
 */
export async function terminateTree(
  tree: ProcessTree,
  graceMs: number,
  killWaitMs: number,
): Promise<void> {
  // Every known group empty (how an agent usually ends: it and all it started are gone): a
  // process of the tree is only ever found through a member of one, so /proc has none to show.
  if (!tree.anyGroupLeft()) return;
  tree.refresh();
  if (!tree.signal('SIGTERM')) return;
  if (await tree.waitForExit(graceMs)) return;
  // Groups started during the grace period get the SIGKILL too.
  tree.refresh();
  tree.signal('SIGKILL');
  await tree.waitForExit(killWaitMs);
}

/**
 * Whether one process exists and is not a zombie (EPERM: it exists but belongs to someone else).
 * A killed agent's children linger as zombies until pid 1 reaps them; they are gone for us.
 */
export function isProcessAlive(pid: number): boolean {
  // 0 and negative numbers would probe process groups (our own, for 0), not a process.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // No /proc (macOS), or it exited between the two looks: the signal probe is all there is.
  const info = parseStat(String(pid));
  return info === null || isRunningState(info.state);
}

/** Zombies count as gone: pid 1 in some containers reaps orphans late (about 2 s here) or never. */
function isRunningState(state: string): boolean {
  return state !== 'Z' && state !== 'X';
}

/** Sends `signal` to a process group; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * How old a process table the periodic refresh of every agent's tree may share: 32 agents each
 * reading all of /proc every two seconds cost the orchestrator more than everything else it does
 * while they work. Liveness checks and terminations always read a fresh one.
 */
const SHARED_TABLE_MS = 1_000;
let shared: { at: number; table: ProcessInfo[] | null } | null = null;

function sharedProcessTable(): ProcessInfo[] | null {
  const now = Date.now();
  if (shared === null || now - shared.at >= SHARED_TABLE_MS || now < shared.at) {
    shared = { at: now, table: processTable() };
  }
  return shared.table;
}

/** Every process's pid, parent, group and state from /proc, or null where there is no /proc. */
function processTable(): ProcessInfo[] | null {
  const pids = procPids();
  if (pids === null) return null;
  const table: ProcessInfo[] = [];
  for (const pid of pids) {
    const info = parseStat(pid);
    if (info !== null) table.push(info);
  }
  return table;
}

function parseStat(pid: string): ProcessInfo | null {
  const fields = statFields(pid);
  if (fields === null) return null; // exited while we looked
  const [state, ppid, pgid] = fields;
  if (state === undefined || ppid === undefined || pgid === undefined) return null;
  return { pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), state };
}

function ownProcessGroup(): number | null {
  const self = parseStat('self');
  return self === null ? null : self.pgid;
}
