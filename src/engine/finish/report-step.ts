import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { CONFIG_PATH } from '../config/schema.js';
import type { ExecutionState } from '../monitor/state.js';
import type { Plan } from '../plan/schema.js';
import { writeBack, type PlanWriteBack } from '../plan/write-back.js';
import { renderReport } from '../report/render.js';
import { commitOnBranch } from './branch-commit.js';
import type { Notify } from './notify.js';
import { nextGroupOf, planUpdate, reportLinkFrom } from './plan-update.js';
import type { FinishSettings, WriteBackMode } from './settings.js';

export const REPORT_FILE = 'report.md';

export interface ReportStepOptions {
  settings: FinishSettings;
  executionDir: string;
  /** The plan the execution ran (its snapshot); null when it cannot be read. */
  plan: Plan | null;
  env: Record<string, string>;
  notify: Notify;
}

export interface PlanWriteBackOutcome {
  mode: WriteBackMode;
  /** The plan file written (repository-relative on the branch, absolute in the working tree). */
  file: string | null;
  changed: boolean;
  /** What happened, in a sentence (why nothing was written, when nothing was). */
  note: string;
}

export interface ReportOutcome {
  /** `<executionDir>/report.md`. */
  file: string;
  commit: NonNullable<ExecutionState['report_commit']> | null;
  writeBack: PlanWriteBackOutcome;
}

/**
 * Phase 5.1 and 5.3: render the report from the final state, write it under the execution folder,
 * and — with an integration branch — commit it there as `reports/<execution-id>.md` together with
 * the plan's updated statuses (or update the user's plan file instead, `working-tree`, or leave the
 * plan alone, `none`). The user's checkout is only ever touched in `working-tree` mode.
 */
export async function runReportStep(
  state: ExecutionState,
  options: ReportStepOptions,
): Promise<ReportOutcome> {
  const { settings, plan } = options;
  const mode = settings.report.writeBack;
  const reportPath = reportPathOf(settings.report.dir, state.execution_id);
  const branch = state.integration?.branch ?? null;
  const commitsReport = branch !== null && mode !== 'none';
  const planFile = markdownPlanFile(state.plan_file);
  const update =
    plan === null || planFile === null
      ? null
      : planUpdate(state, plan, commitsReport ? reportLinkFrom(planFile, reportPath) : null);
  const nextGroup = plan === null ? null : nextGroupOf(state, plan);
  const text = renderReport(state, { nextGroup });
  const file = join(options.executionDir, REPORT_FILE);
  await writeFile(file, text);
  options.notify(state, `report written: ${file}`);

  let writeBackOutcome = skipped(mode, whyNoPlan(plan, state.plan_file, planFile));
  let commit: ReportOutcome['commit'] = null;
  if (commitsReport) {
    const onBranch = mode === 'integration-branch' && update !== null && planFile !== null;
    const planResult: { error: string | null } = { error: null };
    const result = await commitOnBranch({
      repoRoot: state.repo_root,
      branch,
      workdir: join(options.executionDir, 'worktrees'),
      files: [
        { path: reportPath, content: () => text },
        ...(onBranch
          ? [
              {
                path: planFile,
                content: (current: string | null) => updated(current, plan!, update, planResult),
              },
            ]
          : []),
      ],
      message: commitMessage(state, onBranch),
      identity: settings.identity,
      env: options.env,
    });
    const planChanged = onBranch && result.written.includes(planFile);
    commit = {
      branch,
      path: reportPath,
      sha: result.sha,
      plan_file: planChanged ? planFile : null,
    };
    options.notify(state, `report committed on ${branch} as ${reportPath}`);
    if (onBranch) {
      writeBackOutcome = {
        mode,
        file: planFile,
        changed: planChanged,
        note:
          planResult.error ??
          (planChanged
            ? `plan statuses committed on ${branch}`
            : `the plan on ${branch} already says so`),
      };
    }
  } else if (mode === 'integration-branch' && update !== null) {
    writeBackOutcome = skipped(
      mode,
      'no integration branch was made, so the plan was not written back',
    );
  }
  if (mode === 'working-tree' && update !== null && planFile !== null) {
    writeBackOutcome = await writeWorkingTree(state, plan!, update, planFile);
  }
  if (mode === 'none') writeBackOutcome = skipped(mode, 'write-back is off (--no-write-back)');
  options.notify(state, `plan write-back (${mode}): ${writeBackOutcome.note}`);
  return { file, commit, writeBack: writeBackOutcome };
}

/** `reports/<id>.md`, refusing a configured folder that would leave the repository. */
export function reportPathOf(dir: string, executionId: string): string {
  const clean = posix.normalize(dir.split('\\').join('/')).replace(/\/+$/, '');
  if (isAbsolute(dir) || clean === '..' || clean.startsWith('../')) {
    throw new ConfigurationError(
      CONFIG_PATH,
      null,
      `"report.dir": ${dir} is outside the repository`,
      'Use a folder inside the repository, e.g. reports.',
    );
  }
  return clean === '.' || clean === '' ? `${executionId}.md` : `${clean}/${executionId}.md`;
}

/** The plan's repository-relative path when it is Markdown inside the repository. */
function markdownPlanFile(planFile: string): string | null {
  const path = planFile.split('\\').join('/');
  if (isAbsolute(path) || path.startsWith('../') || !/\.(md|markdown)$/i.test(path)) return null;
  return path;
}

function whyNoPlan(plan: Plan | null, planFile: string, markdown: string | null): string {
  if (plan === null) return 'the execution has no plan snapshot, so the plan was not written back';
  if (markdown === null) {
    return `${planFile} is not a Markdown plan inside the repository; nothing to write back`;
  }
  return 'nothing written back';
}

function skipped(mode: WriteBackMode, note: string): PlanWriteBackOutcome {
  return { mode, file: null, changed: false, note };
}

function updated(
  current: string | null,
  plan: Plan,
  update: PlanWriteBack,
  result: { error: string | null },
): string | null {
  if (current === null) {
    result.error = 'the plan file is not on the integration branch; nothing written back';
    return null;
  }
  try {
    return writeBack(current, plan, update);
  } catch (error) {
    result.error = `the plan could not be updated: ${(error as Error).message}`;
    return null;
  }
}

async function writeWorkingTree(
  state: ExecutionState,
  plan: Plan,
  update: PlanWriteBack,
  planFile: string,
): Promise<PlanWriteBackOutcome> {
  const file = join(state.repo_root, planFile);
  const current = await readFile(file, 'utf8').catch(() => null);
  const result = { error: null as string | null };
  const next = current === null ? null : updated(current, plan, update, result);
  if (current === null) return skipped('working-tree', `${file} is gone; nothing written back`);
  if (next === null) return skipped('working-tree', result.error ?? 'nothing written back');
  if (next === current) {
    return { mode: 'working-tree', file, changed: false, note: `${file} already says so` };
  }
  await writeFile(file, next);
  return { mode: 'working-tree', file, changed: true, note: `plan statuses written to ${file}` };
}

function commitMessage(state: ExecutionState, withPlan: boolean): string {
  const subject = `parallel-executor: report of execution ${state.execution_id}`;
  const body = withPlan
    ? `The execution report, and the plan's task statuses written back (${state.plan_file}).`
    : 'The execution report.';
  return `${subject}\n\n${body}`;
}
