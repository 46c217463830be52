import { describe, expect, it } from 'vitest';
import {
  createClaudeStreamInterpreter,
  describeTool,
} from '../../src/engine/agents/claude-stream.js';
import type { AgentEvent } from '../../src/engine/ports/agent-runner.js';

/**
 * Stream lines in the shape Claude Code 2.1 prints (see the real-CLI test for the end-to-end
 * path). TodoWrite is not offered by the CLI version installed here, so its path is covered here.
 */
const CWD = '/work/tree';

function assistant(id: string, content: unknown[], parent: string | null = null): string {
  return JSON.stringify({
    type: 'assistant',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content,
      usage: { input_tokens: 100, cache_read_input_tokens: 900, output_tokens: 1 },
    },
    parent_tool_use_id: parent,
  });
}

function feed(lines: string[]): {
  events: AgentEvent[];
  interpreter: ReturnType<typeof createClaudeStreamInterpreter>;
} {
  const interpreter = createClaudeStreamInterpreter({ cwd: CWD });
  return { events: lines.flatMap((line) => interpreter.stdoutLine(line)), interpreter };
}

const progressOf = (events: AgentEvent[]): Array<[number | null, string | null]> =>
  events.flatMap((event) =>
    event.type === 'progress'
      ? [[event.percent, event.step] as [number | null, string | null]]
      : [],
  );

describe('claude stream-json interpreter', () => {
  it('takes percent and step from a TodoWrite list', () => {
    const todos = (statuses: string[]) => ({
      type: 'tool_use',
      id: 'toolu_1',
      name: 'TodoWrite',
      input: {
        todos: ['Write parser', 'Write tests', 'Run lint', 'Fix lint'].map((content, index) => ({
          content,
          activeForm: `Doing ${content}`,
          status: statuses[index],
        })),
      },
    });
    const { events } = feed([
      assistant('m1', [todos(['in_progress', 'pending', 'pending', 'pending'])]),
      assistant('m2', [todos(['completed', 'completed', 'in_progress', 'pending'])]),
      assistant('m3', [todos(['completed', 'completed', 'completed', 'completed'])]),
    ]);
    expect(progressOf(events)).toEqual([
      [0, 'Doing Write parser'],
      [50, 'Doing Run lint'],
      // All done but no result yet: never 100 before the agent says it has finished.
      [99, null],
    ]);
  });

  it('without a list, steps are tool uses and text and the percentage grows with turns, below 100', () => {
    const lines = [
      assistant('m1', [{ type: 'text', text: 'Let me look.\nMore.' }]),
      assistant('m1', [
        {
          type: 'tool_use',
          id: 't1',
          name: 'Edit',
          input: { file_path: `${CWD}/src/x.ts`, old_string: 'a', new_string: 'b' },
        },
      ]),
      assistant('m2', [
        { type: 'tool_use', id: 't2', name: 'Bash', input: { command: 'npm test\necho more' } },
      ]),
      ...Array.from({ length: 60 }, (_, index) =>
        assistant(`n${index}`, [
          {
            type: 'tool_use',
            id: `r${index}`,
            name: 'Read',
            input: { file_path: '/elsewhere/y.ts' },
          },
        ]),
      ),
    ];
    const progress = progressOf(feed(lines).events);
    expect(progress.slice(0, 3)).toEqual([
      [7, 'Let me look.'],
      [7, 'Edit src/x.ts'],
      [14, 'Bash: npm test'],
    ]);
    const percents = progress.map(([percent]) => percent ?? 0);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(Math.max(...percents)).toBeLessThanOrEqual(90);
    expect(progress.at(-1)?.[1]).toBe('Read /elsewhere/y.ts');
  });

  it('counts a message split over several lines as one turn, and ignores subagent turns', () => {
    const { events } = feed([
      assistant('m1', [{ type: 'text', text: 'a' }]),
      assistant('m1', [
        { type: 'tool_use', id: 't1', name: 'Read', input: { file_path: `${CWD}/a` } },
      ]),
      assistant(
        'sub1',
        [{ type: 'tool_use', id: 't2', name: 'Read', input: { file_path: `${CWD}/b` } }],
        't1',
      ),
    ]);
    expect(progressOf(events).map(([percent]) => percent)).toEqual([7, 7, 7]);
  });

  it('reads the final result: summary, usage with cached input apart, cost, success', () => {
    const { events, interpreter } = feed([
      assistant('m1', [{ type: 'text', text: 'Done.' }]),
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: false,
        num_turns: 1,
        result: 'Done.',
        total_cost_usd: 0.0125,
        usage: {
          input_tokens: 10,
          cache_creation_input_tokens: 20,
          cache_read_input_tokens: 30,
          output_tokens: 7,
        },
        permission_denials: [{ tool_name: 'WebFetch', tool_use_id: 'x', tool_input: {} }],
      }),
    ]);
    expect(events).toContainEqual({
      type: 'usage',
      inputTokens: 10,
      outputTokens: 7,
      cacheReadTokens: 30,
      cacheCreationTokens: 20,
      costUsd: 0.0125,
    });
    expect(events.at(-1)).toEqual({ type: 'progress', percent: 100, step: 'done' });
    expect(events).toContainEqual({
      type: 'output',
      line: 'permission denied: WebFetch (add it to agent.allowedTools to let the agent use it)',
    });
    expect(interpreter.report()).toEqual({
      inputTokens: 10,
      outputTokens: 7,
      cacheReadTokens: 30,
      cacheCreationTokens: 20,
      costUsd: 0.0125,
      summary: 'Done.',
      agentError: null,
    });
  });

  it('turns an error result into an error event and the agent error, and retries into output lines', () => {
    const { events, interpreter } = feed([
      JSON.stringify({
        type: 'system',
        subtype: 'api_retry',
        attempt: 1,
        max_retries: 10,
        retry_delay_ms: 600,
        error_status: 529,
        error: 'overloaded',
      }),
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: 400,
        result: 'Prompt is too long',
        total_cost_usd: 0,
        usage: { input_tokens: 0, output_tokens: 0 },
      }),
    ]);
    expect(events[0]).toEqual({
      type: 'output',
      line: 'API error 529 (overloaded): retry 1/10 in 0.6 s',
    });
    // The announced delay, so the orchestrator does not take the wait for a hang.
    expect(events[1]).toEqual({ type: 'waiting', ms: 600 });
    // And one for the user, kept with the task (its diagnostics).
    expect(events[2]).toEqual({
      type: 'diagnostic',
      message: 'API error 529 (overloaded): retry 1/10 in 0.6 s',
    });
    expect(events).toContainEqual({
      type: 'error',
      message: 'Prompt is too long (API status 400)',
    });
    expect(progressOf(events).some(([percent]) => percent === 100)).toBe(false);
    expect(interpreter.report().agentError).toBe('Prompt is too long (API status 400)');
  });

  it('counts every model of the session from modelUsage, not the undercounting usage', () => {
    // As the CLI reports a turn cut off and retried without streaming, plus a subagent on another model.
    const { events, interpreter } = feed([
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: false,
        num_turns: 2,
        result: 'Done.',
        total_cost_usd: 0.015,
        usage: { input_tokens: 1000, output_tokens: 50 },
        modelUsage: {
          'claude-main': {
            inputTokens: 2000,
            outputTokens: 100,
            cacheReadInputTokens: 300,
            cacheCreationInputTokens: 40,
            costUSD: 0.012,
          },
          'claude-small': {
            inputTokens: 1000,
            outputTokens: 20,
            cacheReadInputTokens: 0,
            cacheCreationInputTokens: 0,
            costUSD: 0.003,
          },
        },
      }),
    ]);
    const usage = {
      inputTokens: 3000,
      outputTokens: 120,
      cacheReadTokens: 300,
      cacheCreationTokens: 40,
      costUsd: 0.015,
    };
    expect(events).toContainEqual({ type: 'usage', ...usage });
    expect(events).toContainEqual({
      type: 'output',
      line: 'result: success after 2 turns, $0.015: Done.',
    });
    expect(interpreter.report()).toMatchObject(usage);
  });

  it('without a result, sums each message once, with the final output count of its stream', () => {
    const stream = (event: unknown, parent: string | null = null) =>
      JSON.stringify({ type: 'stream_event', event, parent_tool_use_id: parent });
    const start = (id: string, input: number) =>
      stream({
        type: 'message_start',
        message: { id, usage: { input_tokens: input, output_tokens: 1 } },
      });
    const { interpreter } = feed([
      start('m1', 100),
      assistant('m1', [{ type: 'text', text: 'one' }]),
      stream({ type: 'message_delta', delta: {}, usage: { output_tokens: 40 } }),
      assistant('m1', [{ type: 'tool_use', id: 't1', name: 'Read', input: {} }]),
      start('m2', 200),
      stream({ type: 'message_delta', delta: {}, usage: { output_tokens: 30 } }),
      // Killed here: m2's assistant line never came.
    ]);
    expect(interpreter.report()).toMatchObject({
      inputTokens: 300,
      outputTokens: 70,
      cacheReadTokens: 900,
      costUsd: null,
    });
  });

  describe('failures no retry can fix, as Claude Code 2.1 prints them', () => {
    const synthetic = (error: string, said: string) =>
      JSON.stringify({
        type: 'assistant',
        message: {
          id: 'synthetic-1',
          model: '<synthetic>',
          role: 'assistant',
          content: [{ type: 'text', text: said }],
          usage: { input_tokens: 0, output_tokens: 0 },
        },
        parent_tool_use_id: null,
        error,
      });
    const result = (status: number, said: string) =>
      JSON.stringify({
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: status,
        num_turns: 1,
        result: said,
        total_cost_usd: 0,
        usage: { input_tokens: 0, output_tokens: 0 },
        modelUsage: {},
      });
    const fatal = (events: AgentEvent[]) =>
      events.filter((event) => event.type === 'error' && event.fatal === true);

    it('a 401 it would retry for minutes: fatal at the first retry, no wait announced', () => {
      const { events, interpreter } = feed([
        JSON.stringify({
          type: 'system',
          subtype: 'api_retry',
          attempt: 1,
          max_retries: 10,
          retry_delay_ms: 516,
          error_status: 401,
          error: 'authentication_failed',
        }),
      ]);
      expect(fatal(events)).toEqual([
        { type: 'error', message: 'the API key was refused (401)', fatal: true },
      ]);
      expect(events.some((event) => event.type === 'waiting')).toBe(false);
      expect(interpreter.report().agentError).toBe('the API key was refused (401)');
    });

    it('names the credential that was refused', () => {
      const interpreter = createClaudeStreamInterpreter({ cwd: CWD, credential: 'OAuth token' });
      const events = interpreter.stdoutLine(
        JSON.stringify({ type: 'system', subtype: 'api_retry', error_status: 401, error: 'x' }),
      );
      expect(fatal(events)).toEqual([
        { type: 'error', message: 'the OAuth token was refused (401)', fatal: true },
      ]);
    });

    it('a 429 or 529 retry is not fatal', () => {
      const { events } = feed([
        JSON.stringify({
          type: 'system',
          subtype: 'api_retry',
          retry_delay_ms: 2000,
          error_status: 529,
          error: 'overloaded',
        }),
      ]);
      expect(fatal(events)).toEqual([]);
      expect(events).toContainEqual({ type: 'waiting', ms: 2000 });
    });

    it('an unknown model, once, with its name', () => {
      const said =
        "There's an issue with the selected model (claude-nope). It may not exist or you may not have access to it.";
      const { events, interpreter } = feed([synthetic('model_not_found', said), result(404, said)]);
      expect(fatal(events)).toEqual([
        { type: 'error', message: 'the model claude-nope was not found (404)', fatal: true },
      ]);
      expect(interpreter.report().agentError).toBe('the model claude-nope was not found (404)');
    });

    it('no credit left', () => {
      const { events } = feed([
        synthetic('billing_error', 'Credit balance is too low'),
        result(400, 'Credit balance is too low'),
      ]);
      expect(fatal(events)).toEqual([
        { type: 'error', message: 'the credit balance is too low to call the API', fatal: true },
      ]);
    });

    it('an ordinary API error stays an error a retry may fix', () => {
      const { events } = feed([result(400, 'prompt is too long')]);
      expect(fatal(events)).toEqual([]);
      expect(events).toContainEqual({
        type: 'error',
        message: expect.stringContaining('prompt is too long'),
      });
    });
  });

  it('takes streamed partial messages as life without output lines', () => {
    const { events } = feed([
      JSON.stringify({
        type: 'stream_event',
        event: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'He' } },
        parent_tool_use_id: null,
      }),
    ]);
    expect(events).toEqual([{ type: 'alive' }]);
  });

  it('passes lines that are not JSON through as output, and reports message usage when stopped before a result', () => {
    const { events, interpreter } = feed([
      'Error: something odd',
      '',
      '{"type":',
      assistant('m1', [{ type: 'text', text: 'hi' }]),
    ]);
    expect(events.slice(0, 2)).toEqual([
      { type: 'output', line: 'Error: something odd' },
      { type: 'output', line: '{"type":' },
    ]);
    expect(interpreter.report()).toEqual({
      inputTokens: 100,
      outputTokens: 1,
      cacheReadTokens: 900,
      cacheCreationTokens: 0,
      costUsd: null,
      summary: null,
      agentError: null,
    });
  });

  it('describes tool uses briefly, relative to the worktree', () => {
    expect(describeTool('Write', { file_path: `${CWD}/a/b.ts` }, CWD)).toBe('Write a/b.ts');
    expect(describeTool('Write', { file_path: '/tmp/../work/treehouse/x' }, CWD)).toBe(
      'Write /tmp/../work/treehouse/x',
    );
    expect(describeTool('Grep', { pattern: 'TODO' }, CWD)).toBe('Grep TODO');
    expect(describeTool('Bash', { command: `  ${'x'.repeat(200)}` }, CWD)).toHaveLength(
      'Bash: '.length + 80,
    );
    expect(describeTool('Mystery', {}, CWD)).toBe('Mystery');
  });
});
