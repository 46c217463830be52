/**
 * What the app must remember about an execution between webhooks, kept in GitHub (the app is
 * stateless): the record rides hidden in the summary check run's summary; the task check runs
 * (one per task, `external_id` = `<executionId>:<taskId>`) hold each task's status.
 */
import { z } from 'zod';
import { hiddenData, readHiddenData } from './hidden-data.js';

export const RecordedTask = z.object({
  id: z.string(),
  title: z.string(),
  agent: z.string(),
  agents: z.array(z.string()),
  group: z.string().nullable(),
  dependsOn: z.array(z.string()),
  estimateHours: z.number().nullable(),
});
export type RecordedTask = z.infer<typeof RecordedTask>;

export const ExecutionRecord = z.object({
  v: z.literal(1),
  execution: z.string(),
  /** The PR the execution belongs to; null for one started by a push. */
  pr: z.number().int().nullable(),
  /** Branch the workflow was dispatched on, and the commit the check runs are on. */
  ref: z.string(),
  sha: z.string(),
  group: z.string(),
  plan: z.string(),
  planTitle: z.string().nullable(),
  workflow: z.string(),
  run: z.number().int().nullable(),
  runUrl: z.string().nullable(),
  /** The dashboard comment's id (PR executions). */
  comment: z.number().int().nullable(),
  startedAt: z.string(),
  startedBy: z.string().nullable(),
  tasks: z.array(RecordedTask),
  /**
   * One workflow run runs one wave (the tasks whose dependencies are done); the app dispatches
   * the next one when a wave lands cleanly. `run`/`runUrl` above are the current wave's run.
   * Defaults keep records written before waves readable (one wave of every task).
   */
  wave: z.number().int().positive().default(1),
  /** Ids of the tasks the current wave runs; null: every task (records before waves). */
  waveTasks: z.array(z.string()).nullable().default(null),
  /** Runs of the earlier waves: their late or redelivered events change nothing. */
  pastRuns: z.array(z.number().int()).default([]),
  /** When the current wave was dispatched (a wave with no run yet is abandoned after a while). */
  waveStartedAt: z.string().nullable().default(null),
  /**
   * The config's `github.writeBackToPr` when the execution started, so its end need not read the
   * config again; null in records written before it (the end reads the config).
   */
  writeBack: z.boolean().nullable().default(null),
});
export type ExecutionRecord = z.infer<typeof ExecutionRecord>;

const RECORD_KEY = 'record';

export function encodeRecord(record: ExecutionRecord): string {
  return hiddenData(RECORD_KEY, record);
}

export function decodeRecord(text: string | null): ExecutionRecord | null {
  return text === null ? null : readHiddenData(text, RECORD_KEY, ExecutionRecord);
}
