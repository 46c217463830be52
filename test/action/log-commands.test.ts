/**
 * What the action prints to its log is never a workflow command. The runner reads a line as one
 * when, after leading spaces, it starts with `::name::`, or — its first syntax — when `##[name]`
 * appears anywhere in it (actions/runner ActionCommand.TryParseV2 and TryParse); `set-output`,
 * `save-state`, `add-mask` and `stop-commands` are still processed. Agent lines (relayed indented)
 * and data quoting agent text (a failure reason, a dry run's request body) pass through here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coreLogger, inertLogText } from '../../src/action/runtime.js';

const COMMANDS = ['set-output', 'save-state', 'add-mask', 'stop-commands', 'error', 'set-env'];

/** The runner's rule, for the commands above: which lines would it process? */
function commandLines(output: string): string[] {
  return output.split(/\r\n|\r|\n/).filter((line) => {
    const v2 = /^::([^ :]+)/.exec(line.trimStart());
    if (v2 && COMMANDS.includes(v2[1]!)) return true;
    const v1 = /##\[([^\] ]+)/.exec(line);
    return v1 !== null && COMMANDS.includes(v1[1]!);
  });
}

const HOSTILE = [
  '##[set-output name=pull-request;]https://evil.example',
  'done ##[add-mask]ok',
  '  ::stop-commands::resume-later',
  'first line\n::save-state name=x::y',
];

describe('the action log', () => {
  let written: string[];
  let write: typeof process.stdout.write;
  beforeEach(() => {
    written = [];
    write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
  });
  afterEach(() => {
    process.stdout.write = write;
  });

  it('turns no relayed agent line or quoted reason into a workflow command', () => {
    const logger = coreLogger();
    for (const text of HOSTILE) {
      // As agent mode relays an agent's line, and as data beside a static message.
      logger.info(`  │ ${text}`);
      logger.info('task status', { status: 'failed', reason: text });
      logger.warn('agent failed; retrying', { reason: text });
    }
    const output = written.join('');
    expect(written.length).toBeGreaterThan(0);
    // The action's own `::warning::` lines are commands, and their text is not parsed again.
    expect(commandLines(output).filter((line) => !line.startsWith('::warning::'))).toEqual([]);
  });

  it('reads the same to a person', () => {
    const text = inertLogText(HOSTILE.join('\n'));
    expect(text.replace(/\u200b/g, '')).toBe(HOSTILE.join('\n'));
  });
});
