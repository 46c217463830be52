import { readdirSync, type Dirent } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionEvent } from './events.js';
import type { AgentMessage } from '../state/schema.js';
import { readSmallFile } from '../small-file.js';

/**
 * The seed's message bus (Step 3.3) as plain folders: `<messagesDir>/<agent>/inbox/*.json`. An
 * agent sends by writing a file into another's inbox and acknowledges by deleting (or moving)
 * the file or writing `<file>.ack`. The orchestrator only records, tracks and escalates.
 */
export interface MessageScanInput {
  messagesDir: string;
  /** Messages recorded so far (the state's array); updated in place. */
  messages: AgentMessage[];
  now: Date;
  /** Warn about a message unacknowledged for this long. */
  ackTimeoutMs: number;
}

/** A message larger than this is not read (nor recorded). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** A file still invalid after this long is recorded as it is rather than waited for. */
const PARTIAL_WRITE_GRACE_MS = 2000;

export async function ensureInboxes(messagesDir: string, agents: readonly string[]): Promise<void> {
  await Promise.all(
    agents.map((agent) => mkdir(join(messagesDir, agent, 'inbox'), { recursive: true })),
  );
}

/** One pass over the inboxes; returns what changed, for the state and the dashboard. */
export async function scanMessages(input: MessageScanInput): Promise<ExecutionEvent[]> {
  const events: ExecutionEvent[] = [];
  const known = new Map(input.messages.map((m) => [m.file, m]));
  const present = new Set<string>();
  const acked = new Set<string>();
  // The folders are listed synchronously: twice a second for every agent's inbox, a listing takes
  // microseconds this way and several thread-pool round trips through fs/promises.
  for (const agent of listDirs(input.messagesDir)) {
    const inbox = join(input.messagesDir, agent, 'inbox');
    const names = listNames(inbox);
    for (const name of names) {
      if (name.endsWith('.json.ack')) acked.add(`${agent}/inbox/${name.slice(0, -4)}`);
      if (!name.endsWith('.json')) continue;
      const file = `${agent}/inbox/${name}`;
      present.add(file);
      if (known.has(file)) continue;
      const message = readMessage(join(inbox, name), file, agent, name, input.now);
      if (message === null) continue;
      input.messages.push(message);
      known.set(file, message);
      events.push({ type: 'message', message });
    }
  }
  for (const message of input.messages) {
    if (message.acknowledged_at !== null || message.file === undefined) continue;
    if (!present.has(message.file) || acked.has(message.file)) {
      message.acknowledged_at = input.now.toISOString();
      events.push({ type: 'message-acknowledged', message });
      continue;
    }
    const ageMs = input.now.getTime() - Date.parse(message.timestamp);
    if (!message.escalated_at && ageMs >= input.ackTimeoutMs) {
      message.escalated_at = input.now.toISOString();
      events.push({ type: 'message-escalated', message, ageMs });
    }
  }
  return events;
}

function readMessage(
  path: string,
  file: string,
  inboxAgent: string,
  name: string,
  now: Date,
): AgentMessage | null {
  // Read safely: an agent's FIFO or device named *.json must not hang the orchestrator.
  const read = readSmallFile(path, MAX_MESSAGE_BYTES);
  if (read === null) return null;
  const { text, stats: info } = read;
  let raw: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    raw = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    // Probably still being written; after a grace period, keep what is there.
    if (now.getTime() - info.mtimeMs < PARTIAL_WRITE_GRACE_MS) return null;
    raw = { message_type: 'invalid', payload: { error: 'not JSON', text: text.slice(0, 2000) } };
  }
  const str = (value: unknown, fallback: string) =>
    typeof value === 'string' && value.length > 0 ? value : fallback;
  return {
    message_id: str(raw.message_id, name.replace(/\.json$/, '')),
    // Escalation counts from this time, so it must be a real date.
    timestamp:
      typeof raw.timestamp === 'string' && !Number.isNaN(Date.parse(raw.timestamp))
        ? raw.timestamp
        : new Date(info.mtimeMs).toISOString(),
    from_agent: str(raw.from_agent, 'unknown'),
    to_agent: str(raw.to_agent, inboxAgent),
    message_type: str(raw.message_type, 'message'),
    payload: raw.payload ?? null,
    acknowledged_at: null,
    escalated_at: null,
    file,
  };
}

function listDirs(dir: string): string[] {
  return entriesOf(dir)
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
}

function listNames(dir: string): string[] {
  return entriesOf(dir).map((entry) => entry.name);
}

/** A folder's entries, none when it is absent or unreadable. */
function entriesOf(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * Where each agent (by inbox folder name) stands: `open` while one of its tasks may still run
 * (and read its inbox), `finished` once all have ended. An agent not listed is not in the run.
 */
export type RecipientState = ReadonlyMap<string, 'open' | 'finished'>;

/**
 * Messages that will never be read: unacknowledged, and their recipient is not an agent of the
 * execution or has finished. Each is marked (`undelivered`) and returned once, with the reason.
 */
export function markUndelivered(
  messages: readonly AgentMessage[],
  recipients: RecipientState,
): AgentMessage[] {
  const found: AgentMessage[] = [];
  for (const message of messages) {
    if (message.acknowledged_at !== null || message.undelivered != null) continue;
    const inbox = message.file?.split('/')[0] ?? message.to_agent;
    const state = recipients.get(inbox);
    if (state === 'open') continue;
    message.undelivered =
      state === undefined
        ? `${inbox} is not an agent of this execution`
        : `${inbox} had finished without reading it`;
    found.push(message);
  }
  return found;
}
