import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AgentEvent } from '../ports/agent-runner.js';
import { readSmallFile } from '../small-file.js';
import { ticker } from './ticker.js';

/**
 * The status file an agent may write (`PE_STATUS_FILE`), shaped like the seed's:
 * `{progress_percent, current_step, has_error, message}`, plus an optional `usage`:
 * `{input_tokens, output_tokens, cache_read_tokens?, cache_creation_tokens?, cost_usd?}`, the
 * attempt's running totals (what the budget and the report count for an agent that has no stream
 * the tool reads). Agents write it by hand or with a one-line `echo`, so anything not quite right
 * is tolerated rather than failing the task.
 */
export interface AgentStatus {
  percent: number | null;
  step: string | null;
  hasError: boolean;
  message: string | null;
  usage?: StatusUsage | null;
}

export interface StatusUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  costUsd: number | null;
}

const MAX_TEXT = 300;

/** The status in `text`, or null when it is not (yet) a JSON object, e.g. caught mid-write. */
export function parseAgentStatus(text: string): AgentStatus | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  return {
    percent: toPercent(record['progress_percent']),
    step: toText(record['current_step']),
    hasError: record['has_error'] === true || record['has_error'] === 'true',
    message: toText(record['message']),
    usage: toUsage(record['usage']),
  };
}

/** `usage` as the agent wrote it; null when it has no token or cost figure. */
function toUsage(value: unknown): StatusUsage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const count = (key: string) => {
    const n = Number(record[key]);
    return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
  };
  const cost = Number(record['cost_usd']);
  const usage = {
    inputTokens: count('input_tokens'),
    outputTokens: count('output_tokens'),
    cacheReadTokens: count('cache_read_tokens'),
    cacheCreationTokens: count('cache_creation_tokens'),
    costUsd: record['cost_usd'] != null && Number.isFinite(cost) && cost >= 0 ? cost : null,
  };
  const tokens =
    usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheCreationTokens;
  return tokens === 0 && usage.costUsd === null ? null : usage;
}

/** The events that tell a reader how the status moved from `previous` to `next`. */
export function statusEvents(previous: AgentStatus | null, next: AgentStatus): AgentEvent[] {
  const events: AgentEvent[] = [];
  if (previous === null || previous.percent !== next.percent || previous.step !== next.step) {
    events.push({ type: 'progress', percent: next.percent, step: next.step });
  }
  const newError =
    next.hasError && (previous === null || !previous.hasError || previous.message !== next.message);
  if (newError)
    events.push({ type: 'error', message: next.message ?? 'the agent reported an error' });
  const usage = next.usage ?? null;
  if (usage !== null && JSON.stringify(usage) !== JSON.stringify(previous?.usage ?? null)) {
    events.push({ type: 'usage', ...usage });
  }
  return events;
}

export interface StatusWatcher {
  /** The last valid status read since the watch began, if any. */
  last(): AgentStatus | null;
  /**
   * Reads the file at once, so that what the agent wrote before its final word is reported
   * before it, not dropped as late news.
   */
  readNow(): void;
  /** Stops watching after one last read, so a status written just before exit is not lost. */
  close(): Promise<void>;
}

/**
 * Watches `file` for changes made after this call: a stat every STATUS_POLL_MS (inode, size and
 * modification time, so an atomic writer's rename of a temp file over it is seen too), and a
 * read when it changed. A status present before the start
 * is treated as stale (a previous attempt's) and not reported. Any change is life: a rewrite that
 * says nothing new (a heartbeat) is an `alive` event.
 */
export async function watchStatusFile(
  file: string,
  onEvents: (events: AgentEvent[]) => void,
  options: { pollMs?: number } = {},
): Promise<StatusWatcher> {
  const directory = dirname(file);
  await mkdir(directory, { recursive: true });

  let lastText = readStatusText(file);
  let lastStat = statKey(file);
  let lastStatus: AgentStatus | null = null;

  const consider = (text: string | null): void => {
    if (text === null || text === lastText) return;
    const status = parseAgentStatus(text);
    if (status === null) return onEvents([{ type: 'alive' }]);
    lastText = text;
    const events = statusEvents(lastStatus, status);
    lastStatus = status;
    onEvents(events.length > 0 ? events : [{ type: 'alive' }]);
  };
  const look = (): void => consider(readStatusText(file));

  // Polled, not watched: every task's status file is in one folder, and agents that report as they
  // go rewrite theirs ten times a second; a watch hands the orchestrator several events per write
  // (with 32 such agents that alone took 7 % of a core), a poll one stat per file per interval.
  // Synchronous, like the reads of /proc: a stat and a read of a small local file take
  // microseconds this way, and four thread-pool round trips each through fs/promises.
  const poll = (): void => {
    const key = statKey(file);
    if (key === lastStat) return;
    lastStat = key;
    // Rewritten with the same text, the file still changed: the agent is at work.
    if (key !== null) onEvents([{ type: 'alive' }]);
    look();
  };
  // Every agent's file on one shared tick (one wake-up for all), unless a period is asked for.
  let stopPolling: () => void;
  if (options.pollMs === undefined) {
    stopPolling = ticker(STATUS_POLL_MS).every(poll);
  } else {
    const timer = setInterval(poll, options.pollMs);
    timer.unref();
    stopPolling = () => clearInterval(timer);
  }

  return {
    last: () => lastStatus,
    readNow: look,
    close() {
      stopPolling();
      look();
      return Promise.resolve();
    },
  };
}

/** How often a status file is looked at. */
const STATUS_POLL_MS = 500;

/** A status larger than this is not read (it is not one an agent writes as it goes). */
const MAX_STATUS_BYTES = 256 * 1024;

function statKey(file: string): string | null {
  const info = statSync(file, { throwIfNoEntry: false });
  return info === undefined ? null : `${info.ino}:${info.size}:${info.mtimeMs}`;
}

/** The file's text, or null when it is absent, unreadable, not a regular file or too large. */
function readStatusText(file: string): string | null {
  return readSmallFile(file, MAX_STATUS_BYTES)?.text ?? null;
}

function toPercent(value: unknown): number | null {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) return null;
  return Math.min(100, Math.max(0, number));
}

function toText(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '') return null;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
