import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI in tests: each
 * streamed `POST /v1/responses` is answered with the next turn of the script as SSE
 * (`response.created`, `response.output_item.added` / `.done` per item, `response.completed`
 * with usage). The agent is real (Codex runs the commands and applies the patches in its
 * sandbox); only the model's choices are scripted. Point Codex at it with `codexProvider(url)`.
 */

export type ResponsesItem =
  | { type: 'message'; text: string }
  /** A shell command through Codex's `exec_command` tool. */
  | { type: 'exec'; cmd: string }
  /** A patch through the `apply_patch` tool (`*** Begin Patch` … `*** End Patch`). */
  | { type: 'apply_patch'; patch: string }
  /** The todo list, through `update_plan`. */
  | {
      type: 'plan';
      steps: Array<{ step: string; status: 'pending' | 'in_progress' | 'completed' }>;
    };

export interface ResponsesReply {
  output: ResponsesItem[];
  /** OpenAI's usage: `input_tokens` includes the cached ones. */
  usage?: { input_tokens: number; cached_tokens: number; output_tokens: number };
}

/** An HTTP error (401, 429…) or a stream that ends with `response.failed`. */
export type ResponsesFailure =
  { status: number; message: string; code?: string } | { failed: string; code?: string };

export interface ResponsesRequest {
  path: string;
  body: Record<string, unknown> | null;
  authorization: string | null;
  /** `<cwd>` of the environment context Codex sends. */
  cwd: string | null;
  /** Every text of the input, joined: the prompt, the context, tool outputs. */
  inputText: string;
  toolNames: string[];
}

export type ResponsesTurn =
  | ResponsesReply
  | ResponsesFailure
  | ((request: ResponsesRequest) => ResponsesReply | ResponsesFailure);

export interface ScriptedResponses {
  /** The base URL, ending in `/v1`. */
  url: string;
  requests: ResponsesRequest[];
  /** Requests the script did not expect: a test should assert none. */
  surprises: string[];
  /** Usage of every reply served, summed: what a correct adapter reports. */
  served: { input_tokens: number; cached_tokens: number; output_tokens: number };
  unusedTurns(): number;
  close(): Promise<void>;
}

export const DEFAULT_RESPONSES_USAGE = {
  input_tokens: 1000,
  cached_tokens: 200,
  output_tokens: 50,
};

export async function startScriptedResponses(script: ResponsesTurn[]): Promise<ScriptedResponses> {
  const requests: ResponsesRequest[] = [];
  const surprises: string[] = [];
  const served = { input_tokens: 0, cached_tokens: 0, output_tokens: 0 };
  let next = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const request = await record(req);
      if (req.method !== 'POST' || request.path !== '/v1/responses') {
        surprises.push(`${req.method ?? '?'} ${request.path}`);
        return json(res, 404, { error: { message: `scripted: no ${request.path}` } });
      }
      requests.push(request);
      const turn = script[next];
      if (turn === undefined) {
        surprises.push(`request #${requests.length} after the script ended`);
        return json(res, 400, {
          error: { message: 'scripted: script exhausted', type: 'invalid_request_error' },
        });
      }
      next += 1;
      const answer = typeof turn === 'function' ? turn(request) : turn;
      if ('status' in answer) {
        return json(res, answer.status, {
          error: { message: answer.message, type: 'invalid_request_error', code: answer.code },
        });
      }
      if ('failed' in answer) return streamFailure(res, next, answer);
      const usage = answer.usage ?? DEFAULT_RESPONSES_USAGE;
      served.input_tokens += usage.input_tokens;
      served.cached_tokens += usage.cached_tokens;
      served.output_tokens += usage.output_tokens;
      streamReply(res, next, answer.output, usage);
    })().catch((error: unknown) => {
      surprises.push(`server error: ${String(error)}`);
      if (!res.headersSent) json(res, 500, { error: { message: String(error) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    surprises,
    served,
    unusedTurns: () => script.length - next,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * `agent.codex.config` entries that send Codex to the scripted server: a model provider of its
 * own (the built-in `openai` one cannot be re-pointed), no retries so a failure ends at once.
 */
export function codexProvider(url: string): Record<string, string | number> {
  return {
    model_provider: 'scripted',
    'model_providers.scripted.name': 'scripted',
    'model_providers.scripted.base_url': url,
    'model_providers.scripted.env_key': 'OPENAI_API_KEY',
    'model_providers.scripted.wire_api': 'responses',
    'model_providers.scripted.request_max_retries': 0,
    'model_providers.scripted.stream_max_retries': 0,
  };
}

async function record(req: IncomingMessage): Promise<ResponsesRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    body = null;
  }
  const inputText = texts(body?.['input']).join('\n');
  const tools = Array.isArray(body?.['tools']) ? (body['tools'] as Array<{ name?: unknown }>) : [];
  return {
    path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
    body,
    authorization: req.headers.authorization ?? null,
    cwd: /<cwd>([^<]+)<\/cwd>/.exec(inputText)?.[1] ?? null,
    inputText,
    toolNames: tools.map((tool) => (typeof tool.name === 'string' ? tool.name : '?')),
  };
}

/** Every string under `text` or `output` keys, in order. */
function texts(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(texts);
  if (typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if ((key === 'text' || key === 'output') && typeof inner === 'string') out.push(inner);
    else out.push(...texts(inner));
  }
  return out;
}

function wireItem(item: ResponsesItem, turn: number, index: number): Record<string, unknown> {
  const id = `${turn}_${index}`;
  switch (item.type) {
    case 'message':
      return {
        type: 'message',
        id: `msg_${id}`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: item.text, annotations: [] }],
      };
    case 'exec':
      return functionCall(id, 'exec_command', { cmd: item.cmd });
    case 'plan':
      return functionCall(id, 'update_plan', { plan: item.steps });
    case 'apply_patch':
      return {
        type: 'custom_tool_call',
        id: `ctc_${id}`,
        call_id: `call_${id}`,
        name: 'apply_patch',
        input: item.patch,
        status: 'completed',
      };
  }
}

function functionCall(id: string, name: string, args: Record<string, unknown>) {
  return {
    type: 'function_call',
    id: `fc_${id}`,
    call_id: `call_${id}`,
    name,
    arguments: JSON.stringify(args),
    status: 'completed',
  };
}

function sse(res: ServerResponse): (event: string, data: Record<string, unknown>) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return (event, data) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
}

function streamReply(
  res: ServerResponse,
  turn: number,
  output: ResponsesItem[],
  usage: NonNullable<ResponsesReply['usage']>,
): void {
  const send = sse(res);
  const id = `resp_${turn}`;
  send('response.created', { response: { id, status: 'in_progress', output: [] } });
  const items = output.map((item, index) => wireItem(item, turn, index));
  items.forEach((item, index) => {
    send('response.output_item.added', { output_index: index, item });
    send('response.output_item.done', { output_index: index, item });
  });
  send('response.completed', {
    response: {
      id,
      status: 'completed',
      output: items,
      usage: {
        input_tokens: usage.input_tokens,
        input_tokens_details: { cached_tokens: usage.cached_tokens },
        output_tokens: usage.output_tokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input_tokens + usage.output_tokens,
      },
    },
  });
  res.end();
}

function streamFailure(
  res: ServerResponse,
  turn: number,
  failure: { failed: string; code?: string },
): void {
  const send = sse(res);
  const id = `resp_${turn}`;
  send('response.created', { response: { id, status: 'in_progress', output: [] } });
  send('response.failed', {
    response: {
      id,
      status: 'failed',
      error: { code: failure.code ?? 'server_error', message: failure.failed },
    },
  });
  res.end();
}

function json(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
