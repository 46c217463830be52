/**
 * Per-task facts the check run API does not hand back in a listing (start and end times, the job's
 * log link), hidden in the task check run's summary so any instance of the app can rebuild the
 * dashboard from GitHub alone.
 */
import { z } from 'zod';
import { hiddenData, readHiddenData } from './hidden-data.js';

export const TaskData = z.object({
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  jobUrl: z.string().nullable(),
});
export type TaskData = z.infer<typeof TaskData>;

const KEY = 'task';

export function encodeTaskData(data: TaskData): string {
  return hiddenData(KEY, data);
}

export function decodeTaskData(summary: string | null): TaskData {
  const found = summary === null ? null : readHiddenData(summary, KEY, TaskData);
  return found ?? { startedAt: null, finishedAt: null, jobUrl: null };
}
