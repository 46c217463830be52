import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { UnseenUsage } from '../ports/agent-runner.js';
import { pathExists } from '../path-exists.js';

/**
 * What a Claude Code agent spent that its output never showed: when the orchestrator reading its
 * stdout dies (kill -9), the CLI goes on in a session of its own, asks the model more turns, and
 * what it prints of them is lost with the pipe. Its session transcript
 * (`<config dir>/projects/<project>/<session id>.jsonl`, the config dir `$CLAUDE_CONFIG_DIR` or
 * `~/.claude`) holds every message with its usage: those of the log's last session that the log
 * does not show are the unseen ones. Read once the agent is gone; null when there are none or the
 * transcript cannot be found.
 */
export async function unseenClaudeUsage(
  logFile: string,
  env: Record<string, string | undefined>,
): Promise<UnseenUsage | null> {
  const session = await lastSession(logFile);
  if (session === null) return null;
  const configDir =
    env['CLAUDE_CONFIG_DIR'] || (env['HOME'] ? join(env['HOME'], '.claude') : undefined);
  if (configDir === undefined) return null;
  const transcript = await findTranscript(join(configDir, 'projects'), session.id);
  if (transcript === null) return null;
  const usage = new Map<string, Tokens>();
  for await (const line of lines(transcript)) {
    const message = assistantMessage(line);
    if (message === null || session.seen.has(message.id)) continue;
    const before = usage.get(message.id);
    // A message of several content blocks is written once per block: the largest counts.
    usage.set(
      message.id,
      before === undefined ? message.tokens : maxTokens(before, message.tokens),
    );
  }
  if (usage.size === 0) return null;
  const total: Tokens = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
  };
  for (const tokens of usage.values()) {
    total.inputTokens += tokens.inputTokens;
    total.outputTokens += tokens.outputTokens;
    total.cacheReadTokens += tokens.cacheReadTokens;
    total.cacheCreationTokens += tokens.cacheCreationTokens;
  }
  return { ...total, messages: usage.size, session: session.id };
}

interface Tokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

type Json = Record<string, unknown>;

/** A session id as the CLI makes them (a UUID): nothing else is joined into a path. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The log's last session (its `init` event) and the messages the log shows of it. */
async function lastSession(logFile: string): Promise<{ id: string; seen: Set<string> } | null> {
  if (!(await pathExists(logFile))) return null;
  let session: { id: string; seen: Set<string> } | null = null;
  for await (const line of lines(logFile)) {
    if (line['type'] === 'system' && line['subtype'] === 'init') {
      const id = line['session_id'];
      session = typeof id === 'string' && SESSION_ID.test(id) ? { id, seen: new Set() } : null;
      continue;
    }
    if (session === null) continue;
    const id =
      line['type'] === 'assistant'
        ? record(line['message'])?.['id']
        : line['type'] === 'stream_event'
          ? record(record(record(line['event'])?.['message']))?.['id']
          : undefined;
    if (typeof id === 'string') session.seen.add(id);
  }
  return session;
}

async function findTranscript(projects: string, session: string): Promise<string | null> {
  const folders = await readdir(projects, { withFileTypes: true }).catch(() => []);
  for (const folder of folders) {
    if (!folder.isDirectory()) continue;
    const file = join(projects, folder.name, `${session}.jsonl`);
    if (await pathExists(file)) return file;
  }
  return null;
}

function assistantMessage(line: Json): { id: string; tokens: Tokens } | null {
  if (line['type'] !== 'assistant') return null;
  const message = record(line['message']);
  const id = message?.['id'];
  const usage = record(message?.['usage']);
  if (typeof id !== 'string' || usage === null || message?.['model'] === '<synthetic>') return null;
  return {
    id,
    tokens: {
      inputTokens: count(usage['input_tokens']),
      outputTokens: count(usage['output_tokens']),
      cacheReadTokens: count(usage['cache_read_input_tokens']),
      cacheCreationTokens: count(usage['cache_creation_input_tokens']),
    },
  };
}

function maxTokens(a: Tokens, b: Tokens): Tokens {
  return {
    inputTokens: Math.max(a.inputTokens, b.inputTokens),
    outputTokens: Math.max(a.outputTokens, b.outputTokens),
    cacheReadTokens: Math.max(a.cacheReadTokens, b.cacheReadTokens),
    cacheCreationTokens: Math.max(a.cacheCreationTokens, b.cacheCreationTokens),
  };
}

/** The JSON objects of a file of lines; other lines (stderr in a log, a torn last line) skipped. */
async function* lines(file: string): AsyncGenerator<Json> {
  const input = createReadStream(file, { encoding: 'utf8' });
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      if (!text.startsWith('{')) continue;
      try {
        const parsed: unknown = JSON.parse(text);
        if (record(parsed) !== null) yield parsed as Json;
      } catch {
        continue;
      }
    }
  } finally {
    input.destroy();
  }
}

function record(value: unknown): Json | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
