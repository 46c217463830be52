import { spawn, type ChildProcess } from 'node:child_process';
import { childLineSource, holdOpen, lineSplitter } from '../child-lines.js';
import { procPids, readProc } from './proc.js';

/**
 * Every process's environment (`/proc/<pid>/environ`), read by a small child process rather than
 * by the orchestrator. The kernel reads that file out of the process's memory under the lock of
 * its address space: a process stuck with that lock held (a page fault on a dead NFS or sshfs
 * mount, a huge mlock) makes the read wait as long as it does, minutes or for ever. Read in the
 * orchestrator, it would stop the run there, and no thread of it can give up on such a read: a
 * worker thread or the thread pool stuck in one even keeps Node from exiting. A child can be
 * killed. It says which process it is about to read before each read; when that stays the last
 * word for `stallMs`, the process is taken as unreadable, the child is killed, and a new one reads
 * the rest. One found unreadable is not waited for again for a minute.
 */

export interface EnvironEntry {
  pid: number;
  /** Its environment: `NAME=value` records, each ended by a NUL. */
  environ: string;
  /** Its command line, arguments separated by NULs ('' when unreadable). */
  cmdline: string;
}

export interface EnvironScan {
  /** The processes whose environment holds `needle`. */
  entries: EnvironEntry[];
  /** Processes whose environment could not be read within `stallMs` (or recently could not). */
  unread: number[];
}

export interface EnvironScanOptions {
  /** Only environments containing this are sent back. */
  needle: string;
  /** Where /proc is (tests give a folder of their own). */
  root?: string;
  /** How long one process's read may take. */
  stallMs?: number;
  /** Left out (the orchestrator's own pid). */
  self?: number;
}

/** A read normally takes microseconds; a loaded machine may not run the child for a while. */
const STALL_MS = 5_000;
/** A process found unreadable is skipped (and named unread) for this long. */
const STUCK_MEMORY_MS = 60_000;

/**
 * The child's program: one JSON request a line; for each process, `p<pid>` before reading it,
 * then a JSON line for each match, then one `{"id":…,"done":true}` (`"none":true` without /proc).
 * Writes to a pipe are synchronous on Linux, so the progress line is out before the read starts.
 */
const SOURCE = `
const { readFileSync, readdirSync, writeSync } = require('node:fs');
${childLineSource('scan')}
function say(line) {
  const bytes = Buffer.from(line + '\\n');
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}
const read = (path) => { try { return readFileSync(path, 'utf8'); } catch { return null; } };
function scan(request) {
  let pids;
  try {
    pids = readdirSync(request.root).filter((entry) => /^\\d+$/.test(entry));
  } catch {
    say(JSON.stringify({ id: request.id, none: true }));
    return;
  }
  const skip = new Set(request.skip);
  for (const pid of pids) {
    if (skip.has(pid)) continue;
    say('p' + pid);
    const environ = read(request.root + '/' + pid + '/environ');
    if (environ === null || !environ.includes(request.needle)) continue;
    const cmdline = read(request.root + '/' + pid + '/cmdline') ?? '';
    say(JSON.stringify({ id: request.id, pid: Number(pid), environ, cmdline }));
  }
  say(JSON.stringify({ id: request.id, done: true }));
}
`;

interface Scan {
  request: { id: number; root: string; needle: string; skip: string[] };
  stallMs: number;
  entries: Map<number, EnvironEntry>;
  unread: Set<number>;
  /** How many children died under it. */
  lost: number;
  /** Everyone who asked before it started: one reading answers them all. */
  waiters: Array<(result: EnvironScan | null) => void>;
}

const MAX_LOST = 3;

/** Pid → when its read was found stuck. */
const stuck = new Map<string, number>();

class Reader {
  private child: ChildProcess | null = null;
  private readonly queue: Scan[] = [];
  private read = lineSplitter((line) => this.line(line));
  /** The pid the child said it is reading, and since when. */
  private reading: { pid: string | null; since: number } = { pid: null, since: 0 };
  private timer: NodeJS.Timeout | null = null;
  /** When the stall check last ran. */
  private ticked = 0;
  private nextId = 1;
  /** Children could not be kept running: scans are made in this process. */
  private broken = false;

  scan(options: EnvironScanOptions): Promise<EnvironScan | null> {
    return new Promise((resolve) => {
      const root = options.root ?? '/proc';
      // Agents that end together each ask: a scan asked for and not started yet (the one under
      // way may have passed a process started since) answers them all.
      const next = this.queue.length > 1 ? this.queue[this.queue.length - 1] : undefined;
      if (
        next !== undefined &&
        next.request.root === root &&
        next.request.needle === options.needle
      ) {
        if (options.self !== undefined) next.request.skip.push(String(options.self));
        next.waiters.push(resolve);
        return;
      }
      const now = Date.now();
      for (const [pid, at] of stuck) if (now - at >= STUCK_MEMORY_MS) stuck.delete(pid);
      const skip = [...stuck.keys()];
      if (options.self !== undefined) skip.push(String(options.self));
      this.queue.push({
        request: { id: this.nextId++, root, needle: options.needle, skip },
        stallMs: options.stallMs ?? STALL_MS,
        entries: new Map(),
        unread: new Set([...stuck.keys()].map(Number)),
        lost: 0,
        waiters: [resolve],
      });
      if (this.broken) resolve(scanHere(this.queue.pop()!));
      else if (this.queue.length === 1) this.send();
    });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts the child ahead of the first scan (it takes tens of milliseconds). */
  warm(): void {
    if (this.child === null && !this.broken) this.start();
  }

  private start(): ChildProcess {
    const child = spawn(process.execPath, ['-e', SOURCE], {
      stdio: ['pipe', 'pipe', 'ignore'],
      // Not the orchestrator's folder, which a test or a user may delete while the reader lives.
      cwd: '/',
      // A bare Node, not the orchestrator's options (a loader, an inspector).
      // eslint-disable-next-line no-restricted-properties
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.child = child;
    this.read = lineSplitter((line) => this.line(line));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      if (this.child === child) this.read(text);
    });
    child.stdin!.on('error', () => undefined);
    child.on('error', () => this.lost(child));
    child.on('exit', () => this.lost(child));
    this.idle(child);
    return child;
  }

  private send(): void {
    const scan = this.queue[0];
    if (scan === undefined) return;
    const child = this.child ?? this.start();
    this.reading = { pid: null, since: Date.now() };
    this.busy(child);
    if (this.timer === null) {
      const every = Math.max(10, Math.floor(scan.stallMs / 5));
      this.ticked = Date.now();
      this.timer = setInterval(() => this.check(every), every);
    }
    child.stdin!.write(`${JSON.stringify(scan.request)}\n`);
  }

  private line(line: string): void {
    if (line.startsWith('p')) {
      this.reading = { pid: line.slice(1), since: Date.now() };
      return;
    }
    const answer = JSON.parse(line) as Partial<EnvironEntry> & {
      id: number;
      done?: boolean;
      none?: boolean;
    };
    const scan = this.queue[0];
    if (scan === undefined || answer.id !== scan.request.id) return;
    if (answer.none === true) this.finish(null);
    else if (answer.done === true) this.finish(scan);
    else scan.entries.set(answer.pid!, answer as EnvironEntry);
  }

  private finish(result: Scan | null): void {
    const scan = this.queue.shift()!;
    for (const resolve of scan.waiters) {
      resolve(
        result === null ? null : { entries: [...scan.entries.values()], unread: [...scan.unread] },
      );
    }
    if (this.queue.length > 0) this.send();
    else this.rest();
  }

  /** No answer for `stallMs`: the read under way is stuck; a new child reads past it. */
  private check(every: number): void {
    const scan = this.queue[0];
    // A tick much later than due: this thread was busy, and what the child said meanwhile may
    // still wait to be read. Judged at the next tick, not now.
    const late = Date.now() - this.ticked > 2 * every;
    this.ticked = Date.now();
    if (late || scan === undefined || Date.now() - this.reading.since < scan.stallMs) return;
    // Not even the first process named yet: the child is starting (slowly, on a loaded machine)
    // or listing /proc, which waits on no process. Only a read can be stuck.
    const pid = this.reading.pid;
    if (pid === null) return;
    stuck.set(pid, Date.now());
    scan.unread.add(Number(pid));
    scan.request.skip.push(pid);
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
    this.send();
  }

  /** The child died (killed by something else, out of memory): the scan starts again in a new one. */
  private lost(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = null;
    const scan = this.queue[0];
    if (scan === undefined) return;
    // What it was reading when it died may be what killed it (it cannot be, but a scan that
    // restarts on one process for ever must not be possible either).
    if (this.reading.pid !== null) {
      scan.unread.add(Number(this.reading.pid));
      scan.request.skip.push(this.reading.pid);
    }
    scan.lost += 1;
    // A child that cannot start (or dies at once) is not started for ever: this scan, and the
    // ones after, are read here, as before there was a child.
    if (scan.lost > MAX_LOST) {
      this.broken = true;
      for (const waiting of this.queue.splice(0)) {
        const result = scanHere(waiting);
        for (const resolve of waiting.waiters) resolve(result);
      }
      this.rest();
      return;
    }
    this.send();
  }

  private rest(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.child !== null) this.idle(this.child);
  }

  /** The orchestrator waits for the child only while a scan is under way. */
  private busy(child: ChildProcess): void {
    holdOpen(child, true);
  }

  private idle(child: ChildProcess): void {
    holdOpen(child, false);
  }
}

/** The scan without a child, with blocking reads: only where no child can be kept running. */
function scanHere(scan: Scan): EnvironScan | null {
  const { root, needle, skip } = scan.request;
  const pids = procPids(root);
  if (pids === null) return null;
  const skipped = new Set(skip);
  for (const pid of pids.filter((entry) => !skipped.has(entry))) {
    const environ = readProc(pid, 'environ', root);
    if (environ === null || !environ.includes(needle)) continue;
    const cmdline = readProc(pid, 'cmdline', root) ?? '';
    scan.entries.set(Number(pid), { pid: Number(pid), environ, cmdline });
  }
  return { entries: [...scan.entries.values()], unread: [...scan.unread] };
}

let reader: Reader | null = null;

/**
 * The processes whose environment holds `options.needle`, read in a child process that is
 * replaced when a read does not end. Null where there is no /proc (macOS, Windows).
 */
export function scanEnvirons(options: EnvironScanOptions): Promise<EnvironScan | null> {
  reader ??= new Reader();
  return reader.scan(options);
}

/** Start the reading process now, so that the first scan (at the first agent's end) finds it ready. */
export function warmEnvironScan(): void {
  reader ??= new Reader();
  reader.warm();
}

/** The reading process's pid while it runs (benchmarks add its CPU to the orchestrator's). */
export function environReaderPid(): number | null {
  return reader?.pid ?? null;
}
