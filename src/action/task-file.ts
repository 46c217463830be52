/**
 * `task.json`: what an agent leg hands the integrate job about its task, beside the git bundle and
 * the output files. The integrate job reads it as untrusted input (an agent ran on that machine),
 * so it is validated with zod and every name in it is checked again before it is used.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { TaskRun } from '../engine/state/schema.js';

export const TASK_FILE = 'task.json';
export const BUNDLE_FILE = 'branch.bundle';

/** The artifact (and bundle sub-folder) of one task: `agent-<task id>`. */
export function artifactName(taskId: string): string {
  return `agent-${taskId}`;
}

export { isArtifactOf } from '../forge/artifact-names.js';

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA');

/** `completed`, `failed`, or `blocked` (did not run: a dependency is not done, or a dry run). */
export const LegStatus = z.enum(['completed', 'failed', 'blocked']);
export type LegStatus = z.infer<typeof LegStatus>;

export const TaskFile = z.object({
  version: z.literal(1),
  execution_id: z.string().min(1),
  task_id: z.string().min(1),
  agent: z.string(),
  /** The task branch the bundle holds. */
  branch: z.string().min(1),
  /** The commit the branch started from: the commit the whole run checked out. */
  base_sha: Sha,
  /** The branch head after the agent and collection; equal to base_sha when nothing changed. */
  head_sha: Sha,
  /** `branch.bundle`, or null when the branch has no commit beyond the base. */
  bundle: z.literal(BUNDLE_FILE).nullable(),
  status: LegStatus,
  reason: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
  /** The engine's record of the task (validation, metrics, timings); paths relative to the bundle. */
  run: TaskRun,
});
export type TaskFile = z.infer<typeof TaskFile>;

export async function writeTaskFile(dir: string, file: TaskFile): Promise<void> {
  await writeFile(join(dir, TASK_FILE), `${JSON.stringify(TaskFile.parse(file), null, 2)}\n`);
}

export type TaskFileReading = { ok: true; file: TaskFile } | { ok: false; problem: string };

export async function readTaskFile(dir: string): Promise<TaskFileReading> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, TASK_FILE), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problem:
        code === 'ENOENT'
          ? `no ${TASK_FILE}`
          : `${TASK_FILE} is not JSON: ${(error as Error).message}`,
    };
  }
  const parsed = TaskFile.safeParse(raw);
  if (parsed.success) return { ok: true, file: parsed.data };
  const issue = parsed.error.issues[0]!;
  return {
    ok: false,
    problem: `${TASK_FILE} is not valid: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
  };
}
