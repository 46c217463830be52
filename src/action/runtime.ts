/**
 * The runner side of the action, behind one small interface: inputs, outputs, annotations, the job
 * summary and failure. `coreRuntime()` is `@actions/core`; tests may pass their own.
 */
import * as core from '@actions/core';
import type { Logger } from '../engine/ports/logger.js';

export interface Annotation {
  file: string;
  startLine: number;
  startColumn?: number;
  title?: string;
}

export interface ActionRuntime {
  getInput(name: string): string;
  setOutput(name: string, value: string): void;
  /** Never print this value (the runner masks it in logs). */
  setSecret(value: string): void;
  annotate(level: 'error' | 'warning' | 'notice', message: string, where?: Annotation): void;
  /** Append Markdown to the job summary. */
  writeSummary(markdown: string): Promise<void>;
  setFailed(message: string): void;
  logger: Logger;
}

/** Log lines are a static message and the data beside it, as JSON, so they can be searched. */
function line(message: string, data?: Record<string, unknown>): string {
  return data && Object.keys(data).length > 0 ? `${message} ${JSON.stringify(data)}` : message;
}

/**
 * Text the runner will not read as a workflow command. It reads `::name::` at the start of a line
 * (after spaces) and, in its first syntax, `##[name]` anywhere in a line (actions/runner's
 * ActionCommand.TryParse: IndexOf, not StartsWith), so an agent's line or a reason quoting one,
 * however indented, could `##[set-output name=…;]`, `##[add-mask]` or `##[stop-commands]`. A zero
 * width space breaks both keywords; the log reads the same.
 */
export function inertLogText(text: string): string {
  return text.replace(/##\[/g, '##\u200b[').replace(/^(\s*):(?=:)/gm, '$1:\u200b');
}

export function coreLogger(): Logger {
  return {
    debug: (message, data) => core.debug(line(message, data)),
    // debug, warning and error are `::command::` lines whose text the runner does not parse again.
    info: (message, data) => core.info(inertLogText(line(message, data))),
    warn: (message, data) => core.warning(line(message, data)),
    error: (message, data) => core.error(line(message, data)),
  };
}

export function coreRuntime(): ActionRuntime {
  return {
    getInput: (name) => core.getInput(name),
    setOutput: (name, value) => core.setOutput(name, value),
    setSecret: (value) => core.setSecret(value),
    annotate(level, message, where) {
      const properties = where
        ? {
            file: where.file,
            startLine: where.startLine,
            ...(where.startColumn === undefined ? {} : { startColumn: where.startColumn }),
            ...(where.title === undefined ? {} : { title: where.title }),
          }
        : undefined;
      if (level === 'error') core.error(message, properties);
      else if (level === 'warning') core.warning(message, properties);
      else core.notice(message, properties);
    },
    async writeSummary(markdown) {
      // Outside a runner there is no summary file; the log still has everything.
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      await core.summary.addRaw(markdown, true).write();
    },
    setFailed: (message) => core.setFailed(message),
    logger: coreLogger(),
  };
}
