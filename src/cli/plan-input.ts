import { dirname, relative, resolve } from 'node:path';
import { PreflightError, UsageError } from '../engine/errors.js';
import { loadPlan, repositoryRoot } from '../engine/plan/index.js';
import { neutralise } from '../engine/plan/markdown.js';
import { readPlanFile } from '../engine/plan/plan-file.js';
import { Plan, type Diagnostic } from '../engine/plan/schema.js';
import type { Config } from '../engine/config/schema.js';

export interface PlanInput {
  /** Absolute path of the plan file. */
  file: string;
  plan: Plan;
  /** Warnings the parser and validator found (errors stop the run instead). */
  warnings: string[];
}

const SHOWN_ERRORS = 10;

/**
 * The one way to find the plan (`run` and `validate`): `--plan` relative to where the command
 * runs, else the config's `plan:` (default MULTI_AGENT_PLAN.md) relative to the repository root,
 * so both work the same from a subfolder.
 */
export function planPath(
  flag: string | undefined,
  config: Config,
  cwd: string,
  repoRoot: string,
): string {
  return flag !== undefined ? resolve(cwd, flag) : resolve(repoRoot, config.plan);
}

/**
 * The one place `run` gets its plan from: Markdown through the parser and validator (an invalid
 * plan stops here, with file:line for each error), or a `.json` file holding an already-parsed
 * plan (`Plan`, or the document `validate --json` prints), which the Action's plan job uses.
 */
export async function loadPlanForRun(file: string, cwd: string): Promise<PlanInput> {
  const absolute = resolve(cwd, file);
  const shown = relative(cwd, absolute) || file;
  if (absolute.endsWith('.json')) {
    return { file: absolute, ...(await readPlanJson(absolute, shown)) };
  }
  const loaded = await loadPlan(shown, { cwd });
  const where = (d: Diagnostic & { file?: string }) =>
    `${d.file ? relative(cwd, d.file) : shown}:${d.line}:${d.column}: ${d.message}`;
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const more = errors.length > SHOWN_ERRORS ? ` (and ${errors.length - SHOWN_ERRORS} more)` : '';
    throw new PreflightError(
      `the plan has ${errors.length} error(s)${more}:\n  ${errors.slice(0, SHOWN_ERRORS).map(where).join('\n  ')}`,
      `Fix the plan; \`parallel-executor validate --plan ${shown}\` shows every finding.`,
    );
  }
  return {
    file: loaded.realFile,
    plan: loaded.plan,
    warnings: loaded.diagnostics.filter((d) => d.severity === 'warning').map(where),
  };
}

/**
 * A `.json` plan gets the Markdown plan's checks: its path (a FIFO, a device, a link out of the
 * repository, its size: `readPlanFile`), and control and bidirectional characters in its text
 * (escaped in JSON, `\u001b` is a real ESC once parsed) read as U+FFFD, with a warning.
 */
async function readPlanJson(
  absolute: string,
  shown: string,
): Promise<{ plan: Plan; warnings: string[] }> {
  const { text } = await readPlanFile(absolute, shown, await repositoryRoot(dirname(absolute)));
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${shown}: not valid JSON: ${(error as Error).message}`);
  }
  // `validate --json` wraps the plan: {valid, plan: {title, groups, tasks}, …}.
  if (typeof raw === 'object' && raw !== null && 'plan' in raw && !('tasks' in raw)) {
    raw = (raw as { plan: unknown }).plan;
  }
  const result = Plan.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UsageError(`${shown}: "${issue.path.join('.')}": ${issue.message}`);
  }
  const where: string[] = [];
  const plan = neutraliseStrings(result.data, [], where) as Plan;
  const shownPaths =
    where.slice(0, 5).join(', ') + (where.length > 5 ? ` and ${where.length - 5} more` : '');
  return {
    plan,
    warnings:
      where.length === 0
        ? []
        : [
            `${shown}: control or bidirectional characters in ${shownPaths}; read as \uFFFD (a plan is text: remove them)`,
          ],
  };
}

/** `value` with every string neutralised; the path of each string that changed added to `where`. */
function neutraliseStrings(
  value: unknown,
  path: readonly (string | number)[],
  where: string[],
): unknown {
  if (typeof value === 'string') {
    const { text, replaced } = neutralise(value);
    if (replaced > 0) where.push(path.join('.'));
    return text;
  }
  if (Array.isArray(value))
    return value.map((item, i) => neutraliseStrings(item, [...path, i], where));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        neutraliseStrings(item, [...path, key], where),
      ]),
    );
  }
  return value;
}
