/** An ActionRuntime that records what the action tells the runner, for in-process tests. */
import type { Logger } from '../../src/engine/ports/logger.js';
import type { ActionRuntime, Annotation } from '../../src/action/runtime.js';

export interface RecordingRuntime extends ActionRuntime {
  outputs: Record<string, string>;
  annotations: Array<{ level: string; message: string; where: Annotation | undefined }>;
  summary: string;
  failed: string | null;
  secrets: string[];
  logs: Array<{ level: string; message: string; data: Record<string, unknown> | undefined }>;
}

export function recordingRuntime(inputs: Record<string, string>): RecordingRuntime {
  const logs: RecordingRuntime['logs'] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) =>
    void logs.push({ level, message, data });
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  const runtime: RecordingRuntime = {
    outputs: {},
    annotations: [],
    summary: '',
    failed: null,
    secrets: [],
    logs,
    logger,
    getInput: (name) => (inputs[name] ?? '').trim(),
    setOutput: (name, value) => void (runtime.outputs[name] = value),
    setSecret: (value) => void runtime.secrets.push(value),
    annotate: (level, message, where) => void runtime.annotations.push({ level, message, where }),
    writeSummary: async (markdown) => void (runtime.summary += markdown),
    setFailed: (message) => void (runtime.failed = message),
  };
  return runtime;
}
