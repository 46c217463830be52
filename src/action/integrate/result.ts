/**
 * The integrate job's result, the one thing it hands the publish job (through the
 * `parallel-executor-result` artifact): `result.json` (which branch is at which commit), one git
 * bundle holding those branches from the run's base commit, the execution state and the report.
 * The integrate job ran agent-written code, so the publish job reads all of it as untrusted input:
 * every file is size-capped and parsed with zod, and the names in it are checked again there.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { STATE_FILE } from '../../engine/monitor/state-store.js';
import { ExecutionState } from '../../engine/state/schema.js';

export const RESULT_FILE = 'result.json';
export const RESULT_BUNDLE = 'result.bundle';
/** The report beside the state; the app reads it from the `parallel-executor-state` artifact. */
export const STATE_REPORT_FILE = 'report.md';
export { STATE_FILE };

/** Generous for any plan, and far below what could hurt the publish job. */
export const RESULT_FILE_LIMIT = 1024 * 1024;
export const STATE_FILE_LIMIT = 16 * 1024 * 1024;

const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA');

export const ResultBranch = z
  .object({ task_id: z.string().min(1).max(64), branch: z.string().min(1).max(255), head_sha: Sha })
  .strict();

export const ResultFile = z
  .object({
    version: z.literal(1),
    execution_id: z.string().min(1).max(64),
    base_sha: Sha,
    /** `completed`: every completed task merged and the integration tests did not fail. */
    status: z.enum(['completed', 'failed']),
    /** The integration branch (its pushed name) and its head; null when nothing landed. */
    integration: z
      .object({ branch: z.string().min(1).max(255), head_sha: Sha })
      .strict()
      .nullable(),
    /** The task branches to push: verified, fetched, none changing workflow files unless allowed. */
    task_branches: z.array(ResultBranch).max(1000),
    /** `result.bundle`, or null when every branch is at the base (nothing to carry). */
    bundle: z.literal(RESULT_BUNDLE).nullable(),
  })
  .strict();
export type ResultFile = z.infer<typeof ResultFile>;

/**
 * The ref the integration branch is built under in the integrate job, and so the name the bundle
 * holds it by: the publish job works it out from the execution id, not from the result.
 */
export function integrationSourceRef(executionId: string): string {
  return `refs/heads/parallel-executor/integrating/${executionId}`;
}

export type Reading<T> = { ok: true; value: T } | { ok: false; problem: string };

/** A file of at most `limit` bytes, parsed as JSON and checked with `schema`. */
export async function readCapped<T>(
  dir: string,
  name: string,
  limit: number,
  schema: z.ZodType<T>,
): Promise<Reading<T>> {
  let text: string;
  try {
    // Not through a symbolic link: the file is read as what it is, never as what it points at.
    const handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { size, isFile } = await handle
        .stat()
        .then((s) => ({ size: s.size, isFile: s.isFile() }));
      if (!isFile) return { ok: false, problem: `${name} is not a file` };
      if (size > limit) return { ok: false, problem: `${name} is larger than ${limit} bytes` };
      const buffer = Buffer.alloc(size);
      await handle.read(buffer, 0, size, 0);
      text = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === 'ENOENT' ? `no ${name}` : (error as Error).message };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text, which need not be fit to print.
    return { ok: false, problem: `${name} is not JSON` };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0]!;
  return {
    ok: false,
    problem: `${name} is not valid: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
  };
}

export const readResultFile = (dir: string) =>
  readCapped(dir, RESULT_FILE, RESULT_FILE_LIMIT, ResultFile);
export const readStateFile = (dir: string) =>
  readCapped(dir, STATE_FILE, STATE_FILE_LIMIT, ExecutionState);

/** The bundle, if it is a regular file (not a link to one elsewhere on the machine). */
export async function isRegularFile(path: string): Promise<boolean> {
  return lstat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
