import { readFileSync } from 'node:fs';
import type { AgentEvent } from '../ports/agent-runner.js';
import { openAiCostUsd } from './openai-prices.js';
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
 * Reads `codex exec --json` lines (one event each: `thread.started`, `turn.started`,
 * `item.started` / `item.updated` / `item.completed`, `turn.completed`, `turn.failed`, `error`)
 * and turns them into progress, usage and readable output lines. Progress comes from the agent's
 * todo list (`todo_list` items, from its `update_plan` tool) when it keeps one; otherwise the
 * step is the last command, edit or message and the percentage an estimate from the number of
 * finished items that never reaches 100 before the turn completes.
 */

export interface CodexStreamOptions {
  cwd: string;
  /** The model asked for (`-m`), for the cost; null when Codex picks its default. */
  model: string | null;
  /** Where `--output-last-message` writes the agent's last words, read once it has exited. */
  lastMessageFile?: string;
}

interface Tokens {
  inputTokens: number;
  cacheReadTokens: number;
  outputTokens: number;
}

/** Item-based estimate: 90 * (1 - e^(-items/12)), as for Claude Code's turns. */
const ITEM_CEILING = 90;
const ITEM_SCALE = 12;

export function createCodexStreamInterpreter(options: CodexStreamOptions): OutputInterpreter {
  const usage: Tokens = { inputTokens: 0, cacheReadTokens: 0, outputTokens: 0 };
  let turnsCompleted = 0;
  let itemsDone = 0;
  let todos: Array<{ text: string; completed: boolean }> = [];
  let lastStep: string | null = null;
  let lastMessage: string | null = null;
  let lastProgress: string | null = null;
  let failure: string | null = null;
  let lastError: string | null = null;
  let finished = false;

  const percent = (): number => {
    if (finished && failure === null) return 100;
    const done = todos.filter((todo) => todo.completed).length;
    const estimate =
      todos.length > 0
        ? Math.round((100 * done) / todos.length)
        : Math.round(ITEM_CEILING * (1 - Math.exp(-itemsDone / ITEM_SCALE)));
    return Math.min(99, estimate);
  };
  const step = (): string | null => {
    if (finished && failure === null) return 'done';
    return todos.find((todo) => !todo.completed)?.text ?? lastStep;
  };
  const progressEvent = (): AgentEvent[] => {
    const event = { type: 'progress' as const, percent: percent(), step: step() };
    const key = `${event.percent}|${event.step}`;
    if (key === lastProgress) return [];
    lastProgress = key;
    return [event];
  };
  const costUsd = (): number | null => openAiCostUsd(options.model, usage);

  const onItem = (phase: 'started' | 'updated' | 'completed', item: Json): string[] => {
    const type = text(item['type']);
    if (type === 'todo_list') {
      todos = list(item['items'])
        .map(record)
        .filter((todo): todo is Json => todo !== null)
        .map((todo) => ({ text: text(todo['text']) ?? '', completed: todo['completed'] === true }));
      const done = todos.filter((todo) => todo.completed).length;
      return phase === 'completed' ? [] : [`todo list: ${done}/${todos.length} done`];
    }
    if (phase === 'completed' && type !== 'error') itemsDone += 1;
    switch (type) {
      case 'agent_message': {
        lastMessage = text(item['text']);
        const said = firstLine(lastMessage ?? '');
        if (said === '') return [];
        lastStep = said;
        return [said];
      }
      case 'reasoning':
        return ['(thinking)'];
      case 'command_execution': {
        const command = clip(firstLine(unwrapShell(text(item['command']) ?? '')), 80);
        if (phase === 'started') {
          lastStep = `$ ${command}`;
          return [`→ ${lastStep}`];
        }
        const code = item['exit_code'];
        const output = firstLine(text(item['aggregated_output']) ?? '');
        return [
          `← ${typeof code === 'number' ? `exit ${code}` : (text(item['status']) ?? 'done')}${output === '' ? '' : `: ${output}`}`,
        ];
      }
      case 'file_change': {
        const paths = list(item['changes'])
          .map(record)
          .map(
            (change) =>
              `${text(change?.['kind']) ?? 'edit'} ${displayPath(text(change?.['path']) ?? '?', options.cwd)}`,
          );
        lastStep = `edit ${paths.join(', ')}`;
        return [
          phase === 'started'
            ? `→ ${lastStep}`
            : `← ${text(item['status']) ?? 'done'}: ${paths.join(', ')}`,
        ];
      }
      case 'mcp_tool_call': {
        lastStep = `${text(item['server']) ?? '?'}.${text(item['tool']) ?? '?'}`;
        return [phase === 'started' ? `→ ${lastStep}` : `← ${text(item['status']) ?? 'done'}`];
      }
      case 'web_search':
        lastStep = `search: ${clip(text(item['query']) ?? '', 60)}`;
        return [lastStep];
      case 'error':
        // A warning Codex goes on after (a model it has no metadata for, a fallback).
        return [`warning: ${firstLine(text(item['message']) ?? '')}`];
      default:
        return [type ?? 'item'];
    }
  };

  return {
    // An item carries a whole command's output or an agent message: keep long lines whole.
    maxLineBytes: 16 * 1024 * 1024,
    stdoutLine(raw) {
      const line = parseObject(raw);
      if (line === null) return raw.trim() === '' ? [] : [{ type: 'output', line: clip(raw) }];
      const type = text(line['type']);
      switch (type) {
        case 'thread.started':
          return outputLines([`session started (thread ${text(line['thread_id']) ?? '?'})`]);
        case 'turn.started':
          return outputLines(['turn started']);
        case 'item.started':
        case 'item.updated':
        case 'item.completed': {
          const item = record(line['item']) ?? {};
          const phase = type.slice('item.'.length) as 'started' | 'updated' | 'completed';
          // A running command's output growing: life, shown once the command completes.
          if (phase === 'updated' && item['type'] !== 'todo_list') return [{ type: 'alive' }];
          return [...outputLines(onItem(phase, item), 'item'), ...progressEvent()];
        }
        case 'turn.completed': {
          const tokens = readTokens(record(line['usage']) ?? {});
          usage.inputTokens += tokens.inputTokens;
          usage.cacheReadTokens += tokens.cacheReadTokens;
          usage.outputTokens += tokens.outputTokens;
          turnsCompleted += 1;
          finished = true;
          const cost = costUsd();
          return [
            ...outputLines([
              `turn completed: ${tokens.inputTokens + tokens.cacheReadTokens} input tokens (${tokens.cacheReadTokens} cached), ${tokens.outputTokens} output${cost === null ? '' : `, $${cost.toFixed(4)} so far`}`,
            ]),
            { type: 'usage', ...usage, costUsd: cost },
            ...progressEvent(),
          ];
        }
        case 'turn.failed': {
          failure = plainCodexError(
            text(record(line['error'])?.['message']) ?? lastError ?? 'the turn failed',
          );
          finished = true;
          return [...outputLines([`turn failed: ${failure}`]), { type: 'error', message: failure }];
        }
        case 'error': {
          const message = text(line['message']) ?? 'unknown error';
          // `Reconnecting... 2/5 (…)` is Codex retrying; the turn fails only with `turn.failed`.
          const retrying = message.startsWith('Reconnecting');
          if (!retrying) lastError = message;
          return outputLines([
            `${retrying ? '' : 'error: '}${retrying ? message : plainCodexError(message)}`,
          ]);
        }
        default:
          return outputLines([type ?? 'event']);
      }
    },
    report(): AgentReport {
      const reported = turnsCompleted > 0;
      return {
        inputTokens: reported ? usage.inputTokens : null,
        outputTokens: reported ? usage.outputTokens : null,
        cacheReadTokens: reported ? usage.cacheReadTokens : null,
        cacheCreationTokens: null,
        costUsd: reported ? costUsd() : null,
        summary: readLastMessage(options.lastMessageFile) ?? lastMessage,
        // A run that ended without completing its turn says why in its last error.
        agentError: failure ?? (finished || lastError === null ? null : plainCodexError(lastError)),
      };
    },
  };
}

/**
 * Codex's API errors as a person reads them: `unexpected status 401 Unauthorized: Incorrect API
 * key provided: sk-…, url: https://…/responses` becomes `the API key was refused (HTTP 401
 * Unauthorized): Incorrect API key provided: sk-…`.
 */
export function plainCodexError(message: string): string {
  const status = /^unexpected status (\d{3})\s*([^:]*?)(?::\s*(.*?))?(?:,\s*url:\s*\S+)?\s*$/s.exec(
    message.trim(),
  );
  if (status !== null) {
    const code = Number(status[1]);
    const said = status[3]?.trim() ? `: ${status[3].trim()}` : '';
    return `${statusMeaning(code)} (HTTP ${code}${status[2] ? ` ${status[2]}` : ''})${said}`;
  }
  const broken = /^stream disconnected before completion:\s*(.*)$/s.exec(message.trim());
  if (broken !== null) return `the model's reply broke off: ${broken[1]}`;
  return message.trim();
}

function statusMeaning(code: number): string {
  if (code === 401) return 'the API key was refused';
  if (code === 403) return 'the API refused access to this model or project';
  if (code === 404) return 'the model or the API endpoint was not found';
  if (code === 429) return 'the API rate limit or quota was exceeded';
  if (code >= 500) return 'the API failed';
  return 'the API refused the request';
}

/**
 * The API's usage for a turn. OpenAI counts cached prompt tokens inside `input_tokens`; here
 * `inputTokens` is the uncached part only, and the cached part is counted apart.
 */
function readTokens(usage: Json): Tokens {
  const input = number(usage['input_tokens']);
  const cached = Math.min(input, number(usage['cached_input_tokens']));
  return {
    inputTokens: input - cached,
    cacheReadTokens: cached,
    outputTokens: number(usage['output_tokens']),
  };
}

function readLastMessage(file: string | undefined): string | null {
  if (file === undefined) return null;
  try {
    const message = readFileSync(file, 'utf8').trim();
    return message === '' ? null : message;
  } catch {
    return null;
  }
}

/** `/bin/bash -lc 'npm test'` → `npm test`: the command the model asked for. */
function unwrapShell(command: string): string {
  const wrapped = /^\S*\/?(?:ba)?sh -l?c '(.*)'$/s.exec(command.trim());
  return wrapped === null ? command : wrapped[1]!.replace(/'\\''/g, "'");
}
