import { readFile, writeFile } from 'node:fs/promises';
import type { ExecutionPaths } from './paths.js';
import type { ExecutionSettings } from './settings.js';

/**
 * How an execution was started, kept beside its state so that `resume` continues it the same
 * way (same limits, same agent) without the user retyping every flag. `shell` is whatever the
 * shell needs to rebuild its agent runner; the engine does not look into it.
 */
export interface RunRecord {
  settings: ExecutionSettings;
  shell: Record<string, unknown>;
}

export async function writeRunRecord(paths: ExecutionPaths, record: RunRecord): Promise<void> {
  await writeFile(paths.runRecord, `${JSON.stringify(record, null, 2)}\n`);
}

/** Null when the execution has no record (started by an older version). */
export async function readRunRecord(paths: ExecutionPaths): Promise<RunRecord | null> {
  const text = await readFile(paths.runRecord, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as RunRecord;
  } catch {
    return null;
  }
}
