import { formatCost } from '../format.js';
import { PERMISSION_DENIED, type AgentEvent } from '../ports/agent-runner.js';
import type { AgentReport, OutputInterpreter } from './process.js';
import {
  clip,
  displayPath,
  firstLine,
  list,
  number,
  outputLines,
  parseObject,
  record,
  text,
  type Json,
} from './stream-text.js';

/**
 * Reads Claude Code's `--output-format stream-json --verbose` lines (one JSON object each:
 * `system`, `assistant`, `user`, `result`) and turns them into progress, usage and readable
 * output lines. Progress comes from the agent's own todo list when it keeps one (TodoWrite's
 * `todos`, or the TaskCreate/TaskUpdate task list of 2.1.x); otherwise the step is the last tool
 * use or text and the percentage an estimate from the number of turns that never reaches 100
 * before the final `result`.
 */

interface TodoItem {
  subject: string;
  activeForm: string | null;
  status: string;
}

/** Claude Code's words when a tool call is refused (`-p` cannot ask the user). */
const DENIAL_TEXT = /permission|haven't granted|not allowed/i;
/** Turn-based estimate: 90 * (1 - e^(-turns/12)): 7 % after one turn, 56 % after ten, never 90. */
const TURN_CEILING = 90;
const TURN_SCALE = 12;

export function createClaudeStreamInterpreter(options: {
  cwd: string;
  /** What authenticates the agent, for a refusal's reason (default `API key`). */
  credential?: string;
}): OutputInterpreter {
  const credential = options.credential ?? 'API key';
  const turns = new Set<string>();
  const usageByMessage = new Map<string, Tokens>();
  const todos = new Map<string, TodoItem>();
  const pendingCreates = new Map<string, TodoItem>();
  /** Tool name and a short description by tool_use id, to name a denied call. */
  const toolCalls = new Map<string, string>();
  const denied = new Set<string>();
  let lastStep: string | null = null;
  let lastProgress: string | null = null;
  let lastUsage: string | null = null;
  let result: Json | null = null;
  let fatal: string | null = null;
  // Told to stop (the SIGINT of a stop): its turn ends with this note, and the result that follows
  // is an error (`error_during_execution`) the agent did not make.
  let interrupted = false;
  /** The first failure no retry can fix, once: the orchestrator stops the agent on it. */
  const fatalEvent = (reason: string | null): AgentEvent[] => {
    if (reason === null || fatal !== null) return [];
    fatal = reason;
    return [{ type: 'error', message: reason, fatal: true }];
  };

  const progressEvent = (): AgentEvent[] => {
    const percent = estimatePercent();
    const step = currentStep();
    const key = `${percent}|${step}`;
    if (key === lastProgress) return [];
    lastProgress = key;
    return [{ type: 'progress', percent, step }];
  };

  const estimatePercent = (): number => {
    if (result !== null)
      return result['is_error'] === true ? clampBeforeEnd(listPercent() ?? turnPercent()) : 100;
    return clampBeforeEnd(listPercent() ?? turnPercent());
  };
  const listPercent = (): number | null => {
    const items = [...todos.values()];
    if (items.length === 0) return null;
    return Math.round(
      (100 * items.filter((item) => item.status === 'completed').length) / items.length,
    );
  };
  const turnPercent = (): number =>
    Math.round(TURN_CEILING * (1 - Math.exp(-turns.size / TURN_SCALE)));
  const currentStep = (): string | null => {
    if (result !== null && result['is_error'] !== true) return 'done';
    const active = [...todos.values()].find((item) => item.status === 'in_progress');
    return active === undefined ? lastStep : (active.activeForm ?? active.subject);
  };

  // A message is seen several times (its stream's start and end, one line per content block),
  // each with the usage so far: keep the largest of each count.
  const countMessage = (id: string, usage: Tokens): void => {
    const seen = usageByMessage.get(id);
    usageByMessage.set(
      id,
      seen === undefined
        ? usage
        : {
            inputTokens: Math.max(seen.inputTokens, usage.inputTokens),
            outputTokens: Math.max(seen.outputTokens, usage.outputTokens),
            cacheReadTokens: Math.max(seen.cacheReadTokens, usage.cacheReadTokens),
            cacheCreationTokens: Math.max(seen.cacheCreationTokens, usage.cacheCreationTokens),
          },
    );
  };
  /** The message being streamed, per (sub)agent: `message_delta` carries its final output count. */
  const streaming = new Map<string, string>();
  /** True when the event carried usage (a message's start or end). */
  const onStreamEvent = (line: Json): boolean => {
    const event = record(line['event']);
    const agent = text(line['parent_tool_use_id']) ?? '';
    if (event?.['type'] === 'message_start') {
      const message = record(event['message']);
      const id = text(message?.['id']);
      const usage = record(message?.['usage']);
      if (id === null) return false;
      streaming.set(agent, id);
      if (usage === null) return false;
      countMessage(id, readTokens(usage));
      return true;
    } else if (event?.['type'] === 'message_delta') {
      const id = streaming.get(agent);
      const usage = record(event['usage']);
      if (id === undefined || usage === null) return false;
      countMessage(id, { ...readTokens({}), outputTokens: number(usage['output_tokens']) });
      return true;
    }
    return false;
  };

  const messageTotals = (): Tokens => sumTokens([...usageByMessage.values()]);

  const usageEvent = (): AgentEvent[] => {
    const totals = messageTotals();
    const key = JSON.stringify(totals);
    if (key === lastUsage) return [];
    lastUsage = key;
    return [{ type: 'usage', ...totals, costUsd: null }];
  };

  const onToolUse = (block: Json): string => {
    const name = text(block['name']) ?? 'tool';
    const input = record(block['input']) ?? {};
    if (name === 'TodoWrite') {
      todos.clear();
      list(input['todos']).forEach((todo, index) => {
        const item = record(todo);
        if (item === null) return;
        todos.set(String(index), {
          subject: text(item['content']) ?? `item ${index + 1}`,
          activeForm: text(item['activeForm']),
          status: text(item['status']) ?? 'pending',
        });
      });
      return `todo list: ${todos.size} items`;
    }
    if (name === 'TaskCreate') {
      const id = text(block['id']);
      const subject = text(input['subject']) ?? 'task';
      if (id !== null)
        pendingCreates.set(id, {
          subject,
          activeForm: text(input['activeForm']),
          status: 'pending',
        });
      return `todo: ${subject}`;
    }
    if (name === 'TaskUpdate') {
      const id = text(input['taskId']);
      const item = id === null ? undefined : todos.get(id);
      const status = text(input['status']);
      if (id !== null && item !== undefined) {
        if (status === 'deleted') todos.delete(id);
        else
          todos.set(id, {
            subject: text(input['subject']) ?? item.subject,
            activeForm: text(input['activeForm']) ?? item.activeForm,
            status: status ?? item.status,
          });
      }
      return `todo #${id ?? '?'}: ${status ?? 'updated'}`;
    }
    lastStep = describeTool(name, input, options.cwd);
    const id = text(block['id']);
    if (id !== null) toolCalls.set(id, lastStep);
    return `→ ${lastStep}`;
  };

  const onToolResult = (block: Json, line: Json): string => {
    const id = text(block['tool_use_id']);
    const created = id === null ? undefined : pendingCreates.get(id);
    if (id !== null && created !== undefined) {
      pendingCreates.delete(id);
      const taskId = createdTaskId(line, block);
      if (taskId !== null) todos.set(taskId, created);
    }
    const content = resultText(block['content']);
    return block['is_error'] === true ? `← error: ${content}` : `← ${content}`;
  };

  /** A tool call refused for want of permission, said once per call (result and denial list). */
  const denial = (id: string | null, tool: string): AgentEvent[] => {
    if (id !== null && denied.has(id)) return [];
    if (id !== null) denied.add(id);
    return [{ type: 'diagnostic', message: `${PERMISSION_DENIED}: ${clip(tool, 100)}` }];
  };
  const deniedInResult = (block: Json): AgentEvent[] => {
    if (block['is_error'] !== true) return [];
    if (!DENIAL_TEXT.test(resultText(block['content']))) return [];
    const id = text(block['tool_use_id']);
    return denial(id, (id === null ? undefined : toolCalls.get(id)) ?? 'a tool call');
  };

  const onAssistant = (line: Json): AgentEvent[] => {
    const message = record(line['message']) ?? {};
    const id = text(message['id']);
    const synthetic = message['model'] === '<synthetic>';
    // One message arrives as several lines (one per content block); count it once.
    if (id !== null && !synthetic) {
      if (line['parent_tool_use_id'] === null || line['parent_tool_use_id'] === undefined)
        turns.add(id);
      const usage = record(message['usage']);
      if (usage !== null) countMessage(id, readTokens(usage));
    }
    const outputs: string[] = [];
    for (const block of list(message['content']).map(record)) {
      if (block === null) continue;
      if (block['type'] === 'text') {
        const said = firstLine(text(block['text']) ?? '');
        if (said === '') continue;
        if (!synthetic) lastStep = said;
        outputs.push(said);
      } else if (block['type'] === 'tool_use') {
        outputs.push(onToolUse(block));
      } else if (block['type'] === 'thinking') {
        outputs.push('(thinking)');
      }
    }
    // A failed call shows as a synthetic message with an `error` kind (billing_error, …).
    const error = text(line['error']);
    const failure =
      error === null ? null : fatalApiError(null, error, outputs.join(' '), credential);
    return [
      ...outputLines(outputs, 'assistant message'),
      ...progressEvent(),
      ...usageEvent(),
      ...fatalEvent(failure),
    ];
  };

  const onUser = (line: Json): AgentEvent[] => {
    const message = record(line['message']) ?? {};
    const results = list(message['content'])
      .map(record)
      .filter((block): block is Json => block !== null && block['type'] === 'tool_result');
    const outputs = results.map((block) => onToolResult(block, line));
    if (
      list(message['content'])
        .map(record)
        .some((block) => text(block?.['text'])?.startsWith('[Request interrupted by user') === true)
    ) {
      interrupted = true;
    }
    return [
      ...outputLines(outputs, 'user message'),
      ...results.flatMap(deniedInResult),
      ...progressEvent(),
    ];
  };

  const onSystem = (line: Json): AgentEvent[] => {
    const subtype = text(line['subtype']) ?? 'event';
    if (subtype === 'init') {
      return outputLines(
        [`session started (model ${text(line['model']) ?? '?'}, cwd ${text(line['cwd']) ?? '?'})`],
        '',
      );
    }
    if (subtype === 'api_retry') {
      const delayMs = number(line['retry_delay_ms']);
      const said = `API error ${String(line['error_status'] ?? '?')} (${text(line['error']) ?? 'unknown'}): retry ${String(line['attempt'] ?? '?')}/${String(line['max_retries'] ?? '?')} in ${(delayMs / 1000).toFixed(1)} s`;
      // Claude Code retries a refused key for minutes; it cannot succeed, so it ends here.
      const refused = fatalApiError(line['error_status'], text(line['error']), '', credential);
      if (refused !== null) {
        return [
          ...outputLines([`API error ${String(line['error_status'] ?? '?')}: ${refused}`], ''),
          ...fatalEvent(refused),
        ];
      }
      return [
        ...outputLines([said], ''),
        // Silent until the retry (a 429's retry-after can exceed the idle limit): not hung.
        { type: 'waiting', ms: delayMs },
        { type: 'diagnostic', message: said },
      ];
    }
    return outputLines([`system: ${subtype}`], '');
  };

  /**
   * The session's usage from its result: `modelUsage`, per model, counts every call (a fallback
   * model's, a subagent's, a non-streaming retry's), where `usage` undercounts; without it (older
   * versions), the result's `usage`, else the messages seen.
   */
  const resultUsage = (line: Json): { tokens: Tokens | null; costUsd: number | null } => {
    const models = Object.values(record(line['modelUsage']) ?? {})
      .map(record)
      .filter((model): model is Json => model !== null);
    const usage = record(line['usage']);
    const tokens =
      models.length > 0
        ? sumTokens(
            models.map((model) => ({
              inputTokens: number(model['inputTokens']),
              outputTokens: number(model['outputTokens']),
              cacheReadTokens: number(model['cacheReadInputTokens']),
              cacheCreationTokens: number(model['cacheCreationInputTokens']),
            })),
          )
        : usage !== null
          ? readTokens(usage)
          : usageByMessage.size > 0
            ? messageTotals()
            : null;
    const modelCost = models.some((model) => typeof model['costUSD'] === 'number')
      ? models.reduce((total, model) => total + number(model['costUSD']), 0)
      : null;
    return { tokens, costUsd: nullableNumber(line['total_cost_usd']) ?? modelCost };
  };

  const onResult = (line: Json): AgentEvent[] => {
    result = line;
    const { tokens, costUsd: cost } = resultUsage(line);
    const events: AgentEvent[] = [];
    const stopped = interrupted && line['subtype'] === 'error_during_execution';
    const isError = line['is_error'] === true && !stopped;
    const summary = text(line['result']);
    const turnsUsed = String(line['num_turns'] ?? turns.size);
    events.push({
      type: 'output',
      line: `result: ${stopped ? 'stopped' : isError ? 'error' : 'success'} after ${turnsUsed} turns${cost === null ? '' : `, ${formatCost(cost)}`}${summary === null ? '' : `: ${clip(firstLine(summary))}`}`,
    });
    for (const entry of list(line['permission_denials']).map(record)) {
      if (entry === null) continue;
      const id = text(entry['tool_use_id']);
      const tool = text(entry['tool_name']) ?? '?';
      const input = record(entry['tool_input']) ?? {};
      events.push({
        type: 'output',
        line: `permission denied: ${tool} (add it to agent.allowedTools to let the agent use it)`,
      });
      events.push(...denial(id, describeTool(tool, input, options.cwd)));
    }
    if (tokens !== null) events.push({ type: 'usage', ...tokens, costUsd: cost });
    events.push(...progressEvent());
    if (isError) {
      const failure = fatalApiError(line['api_error_status'], null, summary ?? '', credential);
      events.push(...fatalEvent(failure));
      if (failure === null) events.push({ type: 'error', message: resultError(line) });
    }
    return events;
  };

  return {
    // A line is a whole message: a Write of a big file or a long tool result, all needed to parse.
    maxLineBytes: 16 * 1024 * 1024,
    stdoutLine(raw) {
      const line = parseObject(raw);
      if (line === null) return raw.trim() === '' ? [] : [{ type: 'output', line: clip(raw) }];
      switch (line['type']) {
        case 'assistant':
          return onAssistant(line);
        case 'user':
          return onUser(line);
        case 'system':
          return onSystem(line);
        case 'result':
          return onResult(line);
        case 'stream_event':
          // A token of a reply being streamed (--include-partial-messages): life, nothing to show;
          // the whole message follows as an `assistant` line. Its start and end carry usage, the
          // end its output count, which comes after the `assistant` line: said at once, or the
          // running totals (the state a killed orchestrator leaves, the budget) lack it until the
          // next message.
          return onStreamEvent(line) ? [{ type: 'alive' }, ...usageEvent()] : [{ type: 'alive' }];
        default:
          return [{ type: 'output', line: `${text(line['type']) ?? 'event'}` }];
      }
    },
    report(): AgentReport {
      if (result === null) {
        // Stopped before its result: the per-message counts are the best there is.
        const totals = usageByMessage.size === 0 ? null : messageTotals();
        return {
          inputTokens: totals?.inputTokens ?? null,
          outputTokens: totals?.outputTokens ?? null,
          cacheReadTokens: totals?.cacheReadTokens ?? null,
          cacheCreationTokens: totals?.cacheCreationTokens ?? null,
          costUsd: null,
          summary: null,
          agentError: fatal,
        };
      }
      const { tokens, costUsd } = resultUsage(result);
      return {
        inputTokens: tokens?.inputTokens ?? null,
        outputTokens: tokens?.outputTokens ?? null,
        cacheReadTokens: tokens?.cacheReadTokens ?? null,
        cacheCreationTokens: tokens?.cacheCreationTokens ?? null,
        costUsd,
        summary: text(result['result']),
        agentError:
          fatal ??
          (result['is_error'] === true &&
          !(interrupted && result['subtype'] === 'error_during_execution')
            ? resultError(result)
            : null),
      };
    },
  };
}

/** What a human reads in the dashboard for one tool use: `Edit src/x.ts`, `Bash: npm test`. */
export function describeTool(name: string, input: Json, cwd: string): string {
  const path = text(input['file_path']) ?? text(input['notebook_path']) ?? text(input['path']);
  if (name === 'Bash') return `Bash: ${clip(firstLine(text(input['command']) ?? ''), 80)}`;
  if (name === 'Grep' || name === 'Glob')
    return `${name} ${clip(text(input['pattern']) ?? '', 60)}`;
  if (name === 'Agent' || name === 'Task')
    return `${name}: ${clip(text(input['description']) ?? '', 60)}`;
  if (name === 'WebFetch') return `WebFetch ${clip(text(input['url']) ?? '', 60)}`;
  if (path !== null) return `${name} ${displayPath(path, cwd)}`;
  return name;
}

function createdTaskId(line: Json, block: Json): string | null {
  const task = record(record(line['tool_use_result'])?.['task']);
  const id = task?.['id'];
  if (typeof id === 'string' || typeof id === 'number') return String(id);
  // Older or different shapes only say it in the text: "Task #3 created successfully: …".
  return /Task #(\S+) created/.exec(resultText(block['content']))?.[1] ?? null;
}

/**
 * A failure of the API that no retry can fix, in plain words, or null: the key or token refused
 * (401), the model unknown (404), the credit used up. `status` and `kind` are what the stream
 * says (`error_status`/`api_error_status`, the `error` kind of a failed message); `said` its text.
 */
export function fatalApiError(
  status: unknown,
  kind: string | null,
  said: string,
  credential = 'API key',
): string | null {
  if (status === 401 || kind === 'authentication_failed' || /invalid x-api-key/i.test(said)) {
    return `the ${/oauth/i.test(said) ? 'OAuth token' : credential} was refused (401)`;
  }
  if (/oauth token (has expired|is invalid|was revoked)/i.test(said)) {
    return 'the OAuth token was refused (401)';
  }
  if (kind === 'billing_error' || /credit balance is too low/i.test(said)) {
    return 'the credit balance is too low to call the API';
  }
  if (kind === 'model_not_found' || (status === 404 && /model/i.test(said))) {
    const which = /selected model \(([^)]+)\)/.exec(said)?.[1];
    return `the model ${which === undefined ? '' : `${which} `}was not found (404)`;
  }
  return null;
}

function resultError(line: Json): string {
  const message =
    text(line['result']) ??
    `Claude Code ended with an error (${text(line['subtype']) ?? 'unknown'})`;
  const status = line['api_error_status'];
  return typeof status === 'number' && !message.includes(String(status))
    ? `${message} (API status ${status})`
    : message;
}

interface Tokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/**
 * The API's usage, each kind apart: with caching on, `input_tokens` is a small fraction of the
 * prompt, and cache reads cost a tenth of fresh input, so a sum would misstate both size and cost.
 */
function readTokens(usage: Json): Tokens {
  return {
    inputTokens: number(usage['input_tokens']),
    outputTokens: number(usage['output_tokens']),
    cacheReadTokens: number(usage['cache_read_input_tokens']),
    cacheCreationTokens: number(usage['cache_creation_input_tokens']),
  };
}

function sumTokens(all: readonly Tokens[]): Tokens {
  const total: Tokens = {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
  };
  for (const usage of all) {
    total.inputTokens += usage.inputTokens;
    total.outputTokens += usage.outputTokens;
    total.cacheReadTokens += usage.cacheReadTokens;
    total.cacheCreationTokens += usage.cacheCreationTokens;
  }
  return total;
}

function clampBeforeEnd(percent: number): number {
  return Math.min(99, Math.max(0, percent));
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return clip(firstLine(content));
  const first = list(content)
    .map(record)
    .find((part) => part !== null && typeof part['text'] === 'string');
  return clip(firstLine(text(first?.['text']) ?? ''));
}

function nullableNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
