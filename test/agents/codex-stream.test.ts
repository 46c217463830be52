import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createCodexStreamInterpreter,
  plainCodexError,
} from '../../src/engine/agents/codex-stream.js';
import { openAiCostUsd } from '../../src/engine/agents/openai-prices.js';
import type { AgentEvent } from '../../src/engine/ports/agent-runner.js';

// Lines as `codex exec --json` (0.171.0) printed them against a scripted Responses API.
const RECORDED = {
  thread: '{"type":"thread.started","thread_id":"01a24d6b-a162-7261-a824-54502e4ea160"}',
  turn: '{"type":"turn.started"}',
  plan: '{"type":"item.started","item":{"id":"item_0","type":"todo_list","items":[{"text":"write a","completed":true},{"text":"write b","completed":false},{"text":"test","completed":false}]}}',
  planDone:
    '{"type":"item.updated","item":{"id":"item_0","type":"todo_list","items":[{"text":"write a","completed":true},{"text":"write b","completed":true},{"text":"test","completed":true}]}}',
  commandStarted:
    '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \'echo made > made.txt && git add -A && git commit -m x; echo rc=$?\'","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  commandDone:
    '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \'echo made > made.txt && git add -A && git commit -m x; echo rc=$?\'","aggregated_output":"fatal: Unable to create \'/tmp/cx/repo/.git/index.lock\': Read-only file system\\nrc=128\\n","exit_code":0,"status":"completed"}}',
  patch:
    '{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/tmp/cx/repo/hello.txt","kind":"add"}],"status":"completed"}}',
  warning:
    '{"type":"item.completed","item":{"id":"item_3","type":"error","message":"Model metadata for `gpt-5.1-codex` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}',
  message:
    '{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"all done\\nsecond line"}}',
  completed:
    '{"type":"turn.completed","usage":{"input_tokens":3000,"cached_input_tokens":600,"cache_write_input_tokens":0,"output_tokens":150,"reasoning_output_tokens":0}}',
  completed2:
    '{"type":"turn.completed","usage":{"input_tokens":2000,"cached_input_tokens":400,"cache_write_input_tokens":0,"output_tokens":100,"reasoning_output_tokens":0}}',
  retry:
    '{"type":"error","message":"Reconnecting... 1/5 (unexpected status 401 Unauthorized: Incorrect API key provided: sk-test., url: http://127.0.0.1:18123/v1/responses)"}',
  error:
    '{"type":"error","message":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-test., url: http://127.0.0.1:18123/v1/responses"}',
  failed:
    '{"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-test., url: http://127.0.0.1:18123/v1/responses"}}',
};

function feed(lines: string[], options: { model?: string | null; lastMessageFile?: string } = {}) {
  const interpreter = createCodexStreamInterpreter({
    cwd: '/tmp/cx/repo',
    model: options.model ?? null,
    lastMessageFile: options.lastMessageFile,
  });
  const events: AgentEvent[] = lines.flatMap((line) => interpreter.stdoutLine(line));
  return { events, report: interpreter.report() };
}

const outputs = (events: AgentEvent[]) =>
  events.flatMap((event) => (event.type === 'output' ? [event.line] : []));
const progress = (events: AgentEvent[]) =>
  events.flatMap((event) => (event.type === 'progress' ? [[event.percent, event.step]] : []));

describe('the codex stream interpreter', () => {
  it('shows every line as readable text, never the raw JSON', () => {
    const { events } = feed(Object.values(RECORDED));
    const lines = outputs(events);
    expect(lines.some((line) => line.includes('{"type"'))).toBe(false);
    expect(lines).toContain('session started (thread 01a24d6b-a162-7261-a824-54502e4ea160)');
    expect(lines).toContain(
      '→ $ echo made > made.txt && git add -A && git commit -m x; echo rc=$?',
    );
    expect(lines).toContain(
      "← exit 0: fatal: Unable to create '/tmp/cx/repo/.git/index.lock': Read-only file system",
    );
    expect(lines).toContain('← completed: add hello.txt');
    expect(lines).toContain('all done');
    expect(lines.some((line) => line.startsWith('warning: Model metadata'))).toBe(true);
  });

  it('reads progress from the todo list, and reaches 100 only when the turn completes', () => {
    const { events } = feed([
      RECORDED.thread,
      RECORDED.turn,
      RECORDED.plan,
      RECORDED.commandStarted,
      RECORDED.planDone,
      RECORDED.completed,
    ]);
    expect(progress(events)).toEqual([
      [33, 'write b'],
      // Every item done, the turn not yet: the last thing it did, below 100.
      [99, '$ echo made > made.txt && git add -A && git commit -m x; echo rc=$?'],
      [100, 'done'],
    ]);
  });

  it('takes a running command’s growing output as life, shown once it completes', () => {
    const updated = RECORDED.commandStarted
      .replace('item.started', 'item.updated')
      .replace('"aggregated_output":""', '"aggregated_output":"partial"');
    expect(feed([updated]).events).toEqual([{ type: 'alive' }]);
  });

  it('estimates progress from finished items without a todo list, below 100', () => {
    const { events } = feed([RECORDED.commandStarted, RECORDED.commandDone, RECORDED.patch]);
    const percents = progress(events).map(([percent]) => percent as number);
    expect(percents[percents.length - 1]).toBeGreaterThan(0);
    expect(Math.max(...percents)).toBeLessThan(100);
    expect(progress(events).at(-1)![1]).toBe('edit add hello.txt');
  });

  it('sums usage over turns, with cached input apart from the uncached input', () => {
    const { events, report } = feed([RECORDED.completed, RECORDED.turn, RECORDED.completed2], {
      model: 'gpt-5.5',
    });
    const usage = events.filter((event) => event.type === 'usage');
    expect(usage.at(-1)).toEqual({
      type: 'usage',
      inputTokens: 4000,
      cacheReadTokens: 1000,
      outputTokens: 250,
      costUsd: (4000 * 5 + 1000 * 0.5 + 250 * 30) / 1e6,
    });
    expect(report).toMatchObject({
      inputTokens: 4000,
      cacheReadTokens: 1000,
      outputTokens: 250,
      costUsd: 0.028,
      agentError: null,
    });
  });

  it('gives no cost for a model the price table does not know, and no tokens before a turn ends', () => {
    expect(feed([RECORDED.completed], { model: 'gpt-6.2-sol' }).report.costUsd).toBeNull();
    expect(feed([RECORDED.completed]).report.costUsd).toBeNull();
    expect(feed([RECORDED.thread, RECORDED.turn]).report).toMatchObject({
      inputTokens: null,
      outputTokens: null,
      costUsd: null,
    });
    expect(
      openAiCostUsd('constructor', { inputTokens: 1, cacheReadTokens: 0, outputTokens: 1 }),
    ).toBeNull();
  });

  it('reports a failed turn with a plain reason; a retry that recovers is no failure', () => {
    const failed = feed([
      RECORDED.thread,
      RECORDED.turn,
      RECORDED.retry,
      RECORDED.error,
      RECORDED.failed,
    ]);
    const reason =
      'the API key was refused (HTTP 401 Unauthorized): Incorrect API key provided: sk-test.';
    expect(failed.report.agentError).toBe(reason);
    expect(failed.events).toContainEqual({ type: 'error', message: reason });
    expect(outputs(failed.events)).toContain(`turn failed: ${reason}`);

    const recovered = feed([RECORDED.turn, RECORDED.retry, RECORDED.message, RECORDED.completed]);
    expect(recovered.report.agentError).toBeNull();
    expect(recovered.events.some((event) => event.type === 'error')).toBe(false);
  });

  it('names the last error when Codex ends without finishing its turn', () => {
    const { report } = feed([
      RECORDED.turn,
      '{"type":"error","message":"stream disconnected before completion: The model produced invalid content."}',
    ]);
    expect(report.agentError).toBe(
      "the model's reply broke off: The model produced invalid content.",
    );
  });

  it('takes the summary from --output-last-message, else the last agent message', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pe-codex-last-'));
    try {
      const file = join(dir, 'last.txt');
      expect(feed([RECORDED.message], { lastMessageFile: file }).report.summary).toBe(
        'all done\nsecond line',
      );
      await writeFile(file, 'Summary from the file.\n');
      expect(feed([RECORDED.message], { lastMessageFile: file }).report.summary).toBe(
        'Summary from the file.',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says plainly what an API status means', () => {
    expect(
      plainCodexError(
        'unexpected status 429 Too Many Requests: slow down, url: http://x/v1/responses',
      ),
    ).toBe('the API rate limit or quota was exceeded (HTTP 429 Too Many Requests): slow down');
    expect(plainCodexError('unexpected status 404 Not Found: , url: http://x/responses')).toBe(
      'the model or the API endpoint was not found (HTTP 404 Not Found)',
    );
    expect(plainCodexError('something else')).toBe('something else');
  });
});
