import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../engine/errors.js';
import { Plan } from '../engine/plan/schema.js';

export interface PlanInput {
  /** Absolute path of the plan file. */
  file: string;
  plan: Plan;
}

/**
 * The one place `run` gets its plan from. A `.json` file is an already-parsed plan (the `Plan`
 * schema), which the Action's plan job and tests use; anything else is Markdown for the parser.
 */
export async function loadPlanForRun(file: string, cwd: string): Promise<PlanInput> {
  const absolute = resolve(cwd, file);
  if (absolute.endsWith('.json'))
    return { file: absolute, plan: await readPlanJson(absolute, file) };
  throw new UsageError(
    `cannot read ${file}: the Markdown plan parser is not available in this build`,
    'Pass a parsed plan as JSON (--plan plan.json).',
  );
}

async function readPlanJson(absolute: string, shown: string): Promise<Plan> {
  const text = await readFile(absolute, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      error.code === 'ENOENT'
        ? `plan file not found: ${shown}`
        : `cannot read ${shown}: ${error.message}`,
      'Pass the plan with --plan FILE.',
    );
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${shown}: not valid JSON: ${(error as Error).message}`);
  }
  const result = Plan.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UsageError(`${shown}: "${issue.path.join('.')}": ${issue.message}`);
  }
  return result.data;
}
