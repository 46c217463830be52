import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { PreflightError, UsageError } from '../engine/errors.js';
import { loadPlan, repositoryRoot } from '../engine/plan/index.js';
import { neutralise } from '../engine/plan/markdown.js';
import { readPlanFile } from '../engine/plan/plan-file.js';
import { Plan, type Diagnostic } from '../engine/plan/schema.js';
import type { Config } from '../engine/config/schema.js';
import { git } from '../engine/workspace/git-exec.js';

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
 * When there is no plan at `file`: where it was looked for, and the local branches that hold a
 * file at that path. "Pass the plan with --plan FILE (default: MULTI_AGENT_PLAN.md in the current
 * folder)" was said from a subfolder, where the default is the repository's top, and to a user
 * whose plan was committed on the feature branch they had not switched to.
 */
export async function missingPlan(
  file: string,
  flag: string | undefined,
  repoRoot: string,
  cwd: string,
): Promise<UsageError | null> {
  if (existsSync(file)) return null;
  const shown = relative(cwd, file) || file;
  const inRepo = relative(repoRoot, file);
  const where =
    flag !== undefined
      ? `${flag} from ${cwd} (--plan)`
      : `${inRepo} at the top of the repository ${repoRoot} (\`plan:\` in the config names another)`;
  const branches =
    inRepo.startsWith('..') || inRepo === '' ? [] : await branchesWith(repoRoot, inRepo);
  const onBranch =
    branches.length > 0
      ? ` It is committed on ${branches.length === 1 ? 'branch' : 'branches'} ${branches
          .slice(0, 5)
          .join(
            ', ',
          )}${branches.length > 5 ? ', …' : ''}: switch to the one to run (\`git switch ${branches[0]}\`), since a run starts from the branch you are on.`
      : ' Write the plan there, or name it with --plan FILE.';
  return new UsageError(`plan file not found: ${shown}`, `Looked for ${where}.${onBranch}`);
}

/**
 * Local branches whose tree has a file at `path` (relative to the repository's top), the latest
 * committed first.
 */
async function branchesWith(repoRoot: string, path: string): Promise<string[]> {
  const refs = await git(
    repoRoot,
    ['for-each-ref', '--sort=-committerdate', '--format=%(refname:short)', 'refs/heads/'],
    { allowExitCodes: [128] },
  );
  // The tool's own branches hold the plan of the runs they come from: not what the user means.
  const names = refs.stdout
    .split('\n')
    .filter((name) => name !== '' && !/^(agent|integration)\//u.test(name));
  if (refs.exitCode !== 0 || names.length === 0) return [];
  const found = await git(repoRoot, ['cat-file', '--batch-check=%(objecttype)'], {
    input: names.map((name) => `refs/heads/${name}:${path}\n`).join(''),
    allowExitCodes: [128],
  });
  const types = found.stdout.split('\n');
  return names.filter((_, index) => types[index] === 'blob');
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
