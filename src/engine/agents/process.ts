import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { ParallelExecutorError } from '../errors.js';
import type { AgentEvent, AgentHandle, AgentOutcome, StopReason } from '../ports/agent-runner.js';
import { warmEnvironScan } from './environ-scan.js';
import { createEventQueue } from './event-queue.js';
import { plainText } from '../terminal-text.js';
import { createLineSplitter } from './line-splitter.js';
import { createProcessTree, terminateTree } from './process-group.js';
import { watchStatusFile, type StatusWatcher } from './status-file.js';
import { ticker } from './ticker.js';
import { holdWhenPaused } from './paused-pipe.js';
import {
  describeProcess,
  describeUnread,
  findMarkedProcesses,
  stopProcesses,
  type ProcessOwner,
} from './stray-processes.js';

/** What an adapter learns from the agent's own output, read once the agent has exited. */
export interface AgentReport {
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from / written to the cache (Claude Code); absent when the agent does not say. */
  cacheReadTokens?: number | null;
  cacheCreationTokens?: number | null;
  costUsd: number | null;
  summary: string | null;
  agentError: string | null;
}

/** Adapter-specific reading of stdout (e.g. Claude Code's stream-json). */
export interface OutputInterpreter {
  /** Events for one complete stdout line; `output` events among them also feed `lastLines`. */
  stdoutLine(line: string): AgentEvent[];
  report(): AgentReport;
  /** How much of a stdout line it needs whole (default 64 KiB): structured lines can be long. */
  readonly maxLineBytes?: number;
}

export interface ProcessLaunch {
  /** Executable and argv: never a shell line built from untrusted text. */
  file: string;
  args: string[];
  /** Written to the agent's stdin, which is then closed; default: stdin is /dev/null. */
  stdin?: string;
  cwd: string;
  env: Record<string, string>;
  /** Raw stdout and stderr are appended here. */
  logFile: string;
  statusFile: string;
  signal?: AbortSignal;
  interpreter?: OutputInterpreter;
  /** How many output lines `lastLines` keeps (default 20). */
  lastLines?: number;
  /** Grace between SIGTERM and SIGKILL when `stop()` is given none (default 10 s). */
  graceMs?: number;
  /**
   * Sent to the agent alone when it is stopped, before the SIGTERM to its tree: the signal on
   * which it ends its work at once (Claude Code's SIGINT). The tree's SIGTERM follows once the
   * agent has exited, or when the grace is over, with what is left of it.
   */
  interrupt?: NodeJS.Signals;
  /** Grace for processes the agent left behind in its group after it exited by itself (default 2 s). */
  leftoverGraceMs?: number;
  /** Status-file poll interval, the fallback to fs.watch (default 500 ms). */
  statusPollMs?: number;
  /**
   * The execution and task the agent's environment names (PE_EXECUTION_ID, PE_WORKTREE): once the
   * agent is done, processes still carrying them are stopped too (see stray-processes.ts).
   */
  owner?: ProcessOwner;
}

/** How long after an agent's start the environment reader is started. */
const WARM_SCAN_MS = 100;
const MAX_EVENT_LINE = 2000;
/** After SIGKILL a process can only linger in uninterruptible sleep; do not hang forever on it. */
const KILL_WAIT_MS = 30_000;
/** A process that escaped the group (setsid) may hold our pipes open; stop reading after this. */
const PIPE_DRAIN_MS = 2_000;
const TREE_REFRESH_MS = 2_000;
/**
 * An agent printing less than this in a READ_BATCH_MS period, in fewer lines than SMALL_READ_LINES,
 * has its pipe read once a period. Lines count too (and a progress bar's `\r` redraws): a child's
 * pipe is a socket pair, whose buffer is spent per write (~850 bytes each), so it holds about 250
 * short lines, a few KB. A flood of writes with neither (dots in a tight loop) shows as a read of
 * DOTS_BYTES or more without a line end.
 */
const SMALL_READ_BYTES = 16 * 1024;
/** A read of at least this, with no line end, is a flood of tiny writes (dots). */
const DOTS_BYTES = 64;
const SMALL_READ_LINES = 100;
const READ_BATCH_MS = 500;
/** Output without a newline (dots, a `\r` progress bar) is life too; one such event per this. */
const ALIVE_EVERY_MS = 250;

const NO_REPORT: AgentReport = {
  inputTokens: null,
  outputTokens: null,
  costUsd: null,
  summary: null,
  agentError: null,
};

/**
 * Starts one agent process as the leader of its own process group and returns its handle:
 * output lines and status-file changes as events, the log appended raw, and a `stop` that takes
 * the whole tree down (SIGTERM, then SIGKILL after the grace; see process-group.ts). `done`
 * resolves once the leader has exited and nothing of its tree remains (leftovers of an agent that
 * exited by itself are stopped the same way).
 */
export async function startAgentProcess(launch: ProcessLaunch): Promise<AgentHandle> {
  const keep = launch.lastLines ?? 20;
  const defaultGrace = launch.graceMs ?? 10_000;
  const events = createEventQueue<AgentEvent>();
  // Per pipe: stdout and stderr are read in bursts, each on its own, so the order in which their
  // lines arrive says nothing of the order they were printed in (under load, seconds apart).
  const lastOut: string[] = [];
  const lastErr: string[] = [];
  let finished100 = false;
  let lastPublished = 0;
  // Set once the watch starts (before the agent does); publish reads it.
  const statusFile: { watcher?: StatusWatcher } = {};

  const publish = (list: AgentEvent[], tail: string[] = lastOut): void => {
    for (const raw of list) {
      // Any event tells the orchestrator the agent lives; a bare `alive` only when none did lately.
      if (raw.type === 'alive' && Date.now() - lastPublished < ALIVE_EVERY_MS) continue;
      lastPublished = Date.now();
      const event = shownAsText(raw);
      // Once the agent has said it is done, a status-file change noticed late (the watcher polls)
      // is older news: progress never goes back from 100%.
      if (event.type === 'progress') {
        if (finished100) continue;
        if (event.percent === 100) {
          // The status file is polled: what the agent wrote there before saying it is done
          // comes first.
          statusFile.watcher?.readNow();
          finished100 = true;
        }
      }
      if (event.type === 'output' && event.line !== '') {
        tail.push(event.line);
        if (tail.length > keep) tail.shift();
      }
      events.push(event);
    }
  };

  await mkdir(dirname(launch.logFile), { recursive: true });
  const log = createWriteStream(launch.logFile, { flags: 'a' });
  await once(log, 'open');
  // Watch before spawning so an agent that writes its status at once is not missed.
  const status = await watchStatusFile(launch.statusFile, (events) => publish(events), {
    pollMs: launch.statusPollMs,
  });
  statusFile.watcher = status;

  const child = spawn(launch.file, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: [launch.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let leaderExited = false;
  // Listening from the start: no exit can slip by, and a failed spawn leaves no rejected promise.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => {
      leaderExited = true;
      resolve([code, signal]);
    }),
  );
  // An agent that exits without reading its input must not crash us with EPIPE.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(launch.stdin);
  try {
    await once(child, 'spawn');
  } catch (error) {
    await status.close();
    await closeLog(log);
    const reason = error instanceof Error ? error.message : String(error);
    throw new ParallelExecutorError(
      `could not start the agent \`${launch.file}\` in ${launch.cwd}: ${reason}`,
      'Check that the program exists and is executable, and that the worktree exists.',
      { cause: error },
    );
  }
  const pid = child.pid as number;
  // The process that reads environments for the look at the agent's end (environ-scan.ts) starts
  // while agents work, not beside the starts of the next ones.
  if (launch.owner !== undefined) setTimeout(warmEnvironScan, WARM_SCAN_MS).unref();
  publish([{ type: 'started', pid }]);
  const tree = createProcessTree(pid);
  // Learn the groups of setsid'ed descendants while the tree is intact: once the agent dies they
  // are re-parented to pid 1 and can no longer be traced back to it.
  const stopWatchingTree = ticker(TREE_REFRESH_MS).every(() => tree.refresh({ shared: true }));

  const interpret = (line: string): AgentEvent[] => {
    if (launch.interpreter === undefined) return [{ type: 'output', line: clip(line) }];
    try {
      return launch.interpreter.stdoutLine(line);
    } catch {
      return [{ type: 'output', line: clip(line) }];
    }
  };
  const alive = (): void => publish([{ type: 'alive' }]);
  // An interpreted stdout (Claude Code's, Codex's event stream) is read as it comes, never left
  // to rest: those CLIs are Node programs whose stdout does not block. What the socket cannot take
  // waits in their own queue, and their exit right after the last event (the result: summary,
  // tokens, cost) drops it; a burst bigger than the socket's buffer (~210 KB) at the end of a
  // resting period lost the end of the stream. They print an event at a time, not a stream of
  // dots, so reading each costs little.
  const stdout = pipeLines(
    child.stdout as Readable,
    log,
    (line) => publish(interpret(line)),
    alive,
    { maxLineBytes: launch.interpreter?.maxLineBytes, rests: launch.interpreter === undefined },
  );
  const stderr = pipeLines(
    child.stderr as Readable,
    log,
    (line) => publish([{ type: 'output', line: clip(line) }], lastErr),
    alive,
    { rests: true },
  );

  let stoppedBecause: AgentOutcome['stoppedBecause'] = null;
  let termination: Promise<void> | null = null;
  // One SIGTERM→SIGKILL sequence per agent; whoever asks first chooses the grace.
  const terminate = (graceMs: number): Promise<void> => {
    termination ??= terminateTree(tree, graceMs, KILL_WAIT_MS);
    return termination;
  };
  // A stop asked while the agent runs: its own interrupt first, and the tree left alone until it
  // has exited. A SIGTERM to the tree at once kills the command a tool runs, whose result the
  // agent then sends on to the model in a new turn while it shuts down.
  let interrupting: Promise<void> | null = null;
  const interruptThenTerminate = (graceMs: number): Promise<void> => {
    if (launch.interrupt === undefined || leaderExited || termination !== null) {
      return interrupting ?? terminate(graceMs);
    }
    interrupting ??= interruptFirst(launch.interrupt, graceMs);
    return interrupting;
  };
  const interruptFirst = async (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    const started = Date.now();
    // The groups its commands run in are learned while it lives: once it has exited they are
    // children of pid 1, out of the tree's reach.
    tree.refresh();
    try {
      process.kill(pid, signal);
    } catch {
      return terminate(graceMs);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    return terminate(Math.max(0, graceMs - (Date.now() - started)));
  };

  const lifetime = new AbortController();
  const done: Promise<AgentOutcome> = (async () => {
    const [exitCode, signal] = await exited;
    stopWatchingTree();
    await terminate(launch.leftoverGraceMs ?? 2_000);
    // Before draining: a stray that inherited our pipes keeps them open until it is gone.
    const leftBehind = await stopStrays(launch.owner, launch.leftoverGraceMs ?? 2_000);
    await Promise.all([stdout.drained(PIPE_DRAIN_MS), stderr.drained(PIPE_DRAIN_MS)]);
    await status.close();
    await closeLog(log);
    lifetime.abort();
    events.end();
    const report = launch.interpreter?.report() ?? NO_REPORT;
    const lastStatus = status.last();
    const statusError =
      lastStatus?.hasError === true ? (lastStatus.message ?? 'the agent reported an error') : null;
    return {
      exitCode,
      signal,
      stoppedBecause,
      // An adapter's own reading first; else what the agent wrote in its status file.
      inputTokens: report.inputTokens ?? lastStatus?.usage?.inputTokens ?? null,
      outputTokens: report.outputTokens ?? lastStatus?.usage?.outputTokens ?? null,
      cacheReadTokens: report.cacheReadTokens ?? lastStatus?.usage?.cacheReadTokens ?? null,
      cacheCreationTokens:
        report.cacheCreationTokens ?? lastStatus?.usage?.cacheCreationTokens ?? null,
      costUsd: report.costUsd ?? lastStatus?.usage?.costUsd ?? null,
      summary: report.summary === null ? null : plainText(report.summary),
      agentError: textOrNull(report.agentError ?? statusError),
      // The error stream last: what a crash says about itself.
      lastLines: [...lastOut, ...lastErr].slice(-keep),
      leftBehind,
    };
  })();
  let finished = false;
  void done.then(() => (finished = true));

  const stop = async (reason: StopReason, graceMs = defaultGrace): Promise<void> => {
    if (finished) return;
    // An agent that already ended by itself was not stopped, whatever is still being cleaned up.
    if (!leaderExited) stoppedBecause ??= reason;
    await interruptThenTerminate(graceMs);
    await done;
  };
  const onAbort = (): void => void stop('cancelled');
  if (launch.signal?.aborted === true) onAbort();
  // The listener goes away with the agent, so a long-lived signal does not collect dead handles.
  else launch.signal?.addEventListener('abort', onAbort, { once: true, signal: lifetime.signal });

  return { pid, events, done, stop };
}

/** How many carriage returns `chunk` holds (a progress bar's redraws). */
function carriageReturns(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(13); at !== -1; at = chunk.indexOf(13, at + 1)) count += 1;
  return count;
}

/**
 * Appends a stream to the log raw and hands its lines to `onLine`; `onPartial` hears of output
 * that completed no line. Reading pauses while the log catches up, so a flood is held by the
 * agent's pipe (which blocks it) rather than buffered here.
 */
function pipeLines(
  stream: Readable,
  log: WriteStream,
  onLine: (line: string) => void,
  onPartial: () => void,
  options: { maxLineBytes?: number | undefined; rests: boolean },
): { drained(timeoutMs: number): Promise<void> } {
  const splitter = createLineSplitter(onLine, { maxLineBytes: options.maxLineBytes });
  const closed = once(stream, 'close').catch(() => undefined);
  holdWhenPaused(stream);
  // Read in bursts: an agent that prints a little at a time (a dot, a line) has its pipe left alone
  // until the next tick, so it wakes the orchestrator twice a second, not at every dot (its output
  // waits in the pipe meanwhile). An agent printing more than SMALL_READ_BYTES or SMALL_READ_LINES
  // in a period — in one read or in the last period's — is read without a rest: a flood, of bytes
  // or of short lines (which fill the pipe long before its bytes do), is not slowed by the pauses.
  let congested = false;
  let windowStart = Date.now();
  let window = { bytes: 0, lines: 0 };
  let lastWindow = window;
  // Resumed on the tick shared by every agent's pipes: one wake-up for all of them.
  let rest: (() => void) | null = null;
  const wake = (): void => {
    rest = null;
    if (!congested) stream.resume();
  };
  stream.on('data', (chunk: Buffer) => {
    const now = Date.now();
    if (now - windowStart >= READ_BATCH_MS || now < windowStart) {
      lastWindow = now - windowStart < 2 * READ_BATCH_MS ? window : { bytes: 0, lines: 0 };
      window = { bytes: 0, lines: 0 };
      windowStart = now;
    }
    const writable = log.write(chunk);
    const lines = splitter.write(chunk);
    if (lines === 0) onPartial();
    window.bytes += chunk.length;
    // A progress bar redrawn with `\r` fills the socket as fast as short lines do; so do dots
    // (a test runner's, one write each): after a rest, a read of many bytes and no line end is
    // many such writes, which filled the socket and blocked their writer.
    const returns = carriageReturns(chunk);
    const dots = lines === 0 && returns === 0 && chunk.length >= DOTS_BYTES ? SMALL_READ_LINES : 0;
    window.lines += lines + returns + dots;
    const quiet =
      options.rests &&
      Math.max(window.bytes, lastWindow.bytes) < SMALL_READ_BYTES &&
      Math.max(window.lines, lastWindow.lines) < SMALL_READ_LINES;
    if (!writable) {
      congested = true;
      stream.pause();
      log.once('drain', () => {
        congested = false;
        if (rest === null) stream.resume();
      });
    } else if (quiet && rest === null) {
      stream.pause();
      rest = ticker(READ_BATCH_MS).once(wake);
    }
  });
  return {
    async drained(timeoutMs) {
      rest?.();
      rest = null;
      if (!congested) stream.resume();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([closed, timeout]);
      clearTimeout(timer);
      stream.destroy();
      splitter.flush();
    },
  };
}

async function closeLog(log: WriteStream): Promise<void> {
  log.end();
  await once(log, 'close').catch(() => undefined);
}

/**
 * Processes of the agent's execution and task still running once its tree is gone: stopped the
 * same way (TERM, grace, KILL). Null when there is nothing to look for or no /proc to look in.
 */
async function stopStrays(
  owner: ProcessLaunch['owner'],
  graceMs: number,
): Promise<AgentOutcome['leftBehind']> {
  if (owner === undefined) return null;
  const marked = await findMarkedProcesses([owner]);
  if (marked === null) return null;
  const unread = marked.unread.length > 0 ? { unread: describeUnread(marked.unread) } : {};
  if (marked.found.length === 0) return { stopped: [], running: [], ...unread };
  const { stopped, running } = await stopProcesses(marked.found, graceMs, KILL_WAIT_MS);
  return {
    stopped: stopped.map(describeProcess),
    running: running.map(describeProcess),
    ...unread,
  };
}

/** Agent text reaches terminals and reports: no escape sequences, no control characters. */
function shownAsText(event: AgentEvent): AgentEvent {
  switch (event.type) {
    case 'output':
      return { ...event, line: plainText(event.line) };
    case 'progress':
      return { ...event, step: textOrNull(event.step) };
    case 'error':
    case 'diagnostic':
      return { ...event, message: plainText(event.message) };
    default:
      return event;
  }
}

function textOrNull(text: string | null): string | null {
  return text === null ? null : plainText(text);
}

function clip(line: string): string {
  return line.length > MAX_EVENT_LINE ? `${line.slice(0, MAX_EVENT_LINE - 1)}…` : line;
}
