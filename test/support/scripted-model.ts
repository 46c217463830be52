import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI in tests:
 * each streamed `POST /v1/messages` is answered with the next turn of the script as SSE. The agent
 * is real (it really writes files and runs commands); only the model's choices are scripted.
 */

export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> };

export interface ScriptedReply {
  blocks: ScriptedBlock[];
  /** Default: `tool_use` when a block uses a tool, else `end_turn`. */
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens';
  usage?: { input_tokens: number; output_tokens: number };
  /** After `message_start`, the stream holds this long before the rest (an API stalled mid-reply). */
  stallMs?: number;
}

export interface ScriptedFailure {
  status: number;
  errorType: string;
  message: string;
  /** Seconds for a `retry-after` header (a 429's "come back later"). */
  retryAfter?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
  /** The system prompt as one string. */
  system: string;
  /** From `Primary working directory: …` in the system text. */
  workingDirectory: string | null;
  toolNames: string[];
  stream: boolean;
  /** The request's headers (lower-case names), to see how the client authenticated. */
  headers: Record<string, string>;
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

export type ScriptedTurn =
  ScriptedReply | ScriptedFailure | ((request: RecordedRequest) => ScriptedReply | ScriptedFailure);

export interface ScriptedModel {
  /** For ANTHROPIC_BASE_URL. */
  url: string;
  /** Every request, in order, including ones outside the script. */
  requests: RecordedRequest[];
  /** Requests the script did not expect (wrong path, script exhausted): a test should assert none. */
  surprises: string[];
  /** Turns of the script never asked for: a test should assert none, as for an unused mock. */
  unusedTurns(): number;
  /** The usage of every reply served (what the API would bill), summed. */
  billed(): { input_tokens: number; output_tokens: number };
  close(): Promise<void>;
}

const DEFAULT_USAGE = { input_tokens: 1000, output_tokens: 50 };

export async function startScriptedModel(script: ScriptedTurn[]): Promise<ScriptedModel> {
  const requests: RecordedRequest[] = [];
  const surprises: string[] = [];
  let next = 0;
  let messageCount = 0;
  const billed = { input_tokens: 0, output_tokens: 0 };

  const server = createServer((req, res) => {
    void (async () => {
      const request = await record(req);
      requests.push(request);
      // Claude Code probes the base URL with `HEAD /` before its first call.
      if (request.method === 'HEAD' && request.path === '/') return json(res, 200, {});
      if (request.method !== 'POST' || request.path !== '/v1/messages') {
        surprises.push(`${request.method} ${request.path}`);
        return json(res, 404, {
          type: 'error',
          error: { type: 'not_found_error', message: `scripted model: no ${request.path}` },
        });
      }
      const turn = script[next];
      if (turn === undefined) {
        surprises.push(`request #${requests.length} after the script ended`);
        // 400, not 5xx: the CLI retries server errors for minutes but gives up on a 400 at once.
        return json(res, 400, {
          type: 'error',
          error: { type: 'invalid_request_error', message: 'scripted model: script exhausted' },
        });
      }
      next += 1;
      const answer = typeof turn === 'function' ? turn(request) : turn;
      if ('status' in answer) {
        const headers: Record<string, string> =
          answer.retryAfter === undefined ? {} : { 'retry-after': String(answer.retryAfter) };
        return json(
          res,
          answer.status,
          { type: 'error', error: { type: answer.errorType, message: answer.message } },
          headers,
        );
      }
      messageCount += 1;
      billed.input_tokens += (answer.usage ?? DEFAULT_USAGE).input_tokens;
      billed.output_tokens += (answer.usage ?? DEFAULT_USAGE).output_tokens;
      const id = `msg_scripted_${messageCount}`;
      const model =
        typeof request.body?.['model'] === 'string' ? request.body['model'] : 'claude-scripted';
      if (!request.stream) return json(res, 200, messageJson(id, model, answer, messageCount));
      await streamReply(res, id, model, answer, messageCount);
    })().catch((error: unknown) => {
      surprises.push(`server error: ${String(error)}`);
      if (!res.headersSent)
        json(res, 500, { type: 'error', error: { type: 'api_error', message: String(error) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    surprises,
    unusedTurns: () => script.length - next,
    billed: () => ({ ...billed }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  let body: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    body = null;
  }
  const system = systemText(body?.['system']);
  const tools = Array.isArray(body?.['tools']) ? (body['tools'] as Array<{ name?: unknown }>) : [];
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    body,
    system,
    workingDirectory: /Primary working directory: (.+)/.exec(system)?.[1]?.trim() ?? null,
    toolNames: tools.map((tool) => (typeof tool.name === 'string' ? tool.name : '?')),
    stream: body?.['stream'] === true,
    headers: Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : (value ?? ''),
      ]),
    ),
    receivedAt: Date.now(),
  };
}

function systemText(system: unknown): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) return '';
  return system
    .map((block: { text?: unknown }) => (typeof block.text === 'string' ? block.text : ''))
    .join('\n');
}

function stopReasonOf(reply: ScriptedReply): string {
  return (
    reply.stopReason ??
    (reply.blocks.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn')
  );
}

function contentOf(reply: ScriptedReply, turn: number): Array<Record<string, unknown>> {
  return reply.blocks.map((block, index) =>
    block.type === 'text'
      ? { type: 'text', text: block.text }
      : {
          type: 'tool_use',
          id: `toolu_scripted_${turn}_${index}`,
          name: block.name,
          input: block.input,
        },
  );
}

function messageJson(
  id: string,
  model: string,
  reply: ScriptedReply,
  turn: number,
): Record<string, unknown> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: contentOf(reply, turn),
    stop_reason: stopReasonOf(reply),
    stop_sequence: null,
    usage: reply.usage ?? DEFAULT_USAGE,
  };
}

async function streamReply(
  res: ServerResponse,
  id: string,
  model: string,
  reply: ScriptedReply,
  turn: number,
): Promise<void> {
  const usage = reply.usage ?? DEFAULT_USAGE;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const send = (event: string, data: Record<string, unknown>): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  send('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input_tokens, output_tokens: 1 },
    },
  });
  if (reply.stallMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, reply.stallMs));
    // The client gave up meanwhile (it was stopped): nothing more to send.
    if (res.destroyed) return;
  }
  contentOf(reply, turn).forEach((block, index) => {
    if (block['type'] === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block['text'] } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      const input = JSON.stringify(block['input']);
      // Two fragments, as a real stream splits the JSON; the CLI must join them.
      const cut = Math.floor(input.length / 2);
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: input.slice(0, cut) },
      });
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: input.slice(cut) },
      });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: stopReasonOf(reply), stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  send('message_stop', {});
  res.end();
}

function json(
  res: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
