import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { CONFIG_PATH } from '../config/schema.js';
import type { ExecutionState } from '../state/schema.js';
import type { Plan } from '../plan/schema.js';
import type { PlanWriteBack } from '../plan/write-back.js';
import { reportDirProblem, reportFolder, REPORT_DIR_HINT } from '../config/report-dir.js';
import { reportPathIn } from '../report/path.js';
import { renderReport } from '../report/render.js';
import { commitOnBranch } from './branch-commit.js';
import type { Notify } from './notify.js';
import { editorsText, planAt, planEditors, planForBranch, resolvePlan } from './plan-edits.js';
import { nextGroupOf, planUpdate, reportLinkFrom } from './plan-update.js';
import { changedNothing } from '../report/outcome.js';
import { cleansUpAfterReport, type FinishSettings, type WriteBackMode } from './settings.js';

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
  /**
   * What needs the user's eye: an edit of the plan made during the execution and what became of
   * it (kept, dropped, left on the integration branch). Why nothing was written is in `note`.
   */
  warnings: string[];
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
  const onBranch =
    commitsReport && mode === 'integration-branch' && update !== null && planFile !== null;
  // Before the report is rendered: an agent's edit of the plan is a warning on its task, there.
  const resolution = onBranch
    ? await planForBranch({ state, plan: plan!, update, planFile, branch, env: options.env })
    : null;
  // With the statuses in the user's plan file, the branch keeps the plan as it was at the base:
  // an agent's edit of it merged there would make merging the branch conflict with that file.
  const basePlan =
    commitsReport && mode === 'working-tree' && update !== null && planFile !== null
      ? await planAt(state.repo_root, state.base_sha, planFile, options.env)
      : null;
  const text = renderReport(state, { nextGroup, cleansUp: cleansUpAfterReport(state, settings) });
  const file = join(options.executionDir, REPORT_FILE);
  await writeFile(file, text);
  options.notify(state, `report written: ${file}`);

  let writeBackOutcome = skipped(mode, whyNoPlan(plan, state.plan_file, planFile));
  let commit: ReportOutcome['commit'] = null;
  if (commitsReport) {
    const result = await commitOnBranch({
      repoRoot: state.repo_root,
      branch,
      files: [
        { path: reportPath, content: () => text },
        ...(onBranch
          ? [
              {
                path: planFile,
                content: () => resolution?.text ?? null,
              },
            ]
          : []),
        ...(basePlan === null || planFile === null
          ? []
          : [{ path: planFile, content: () => basePlan }]),
      ],
      message: commitMessage(state, onBranch, basePlan !== null),
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
      const error = resolution?.error ?? null;
      writeBackOutcome = {
        mode,
        file: planFile,
        changed: planChanged,
        note:
          error === null
            ? planChanged
              ? `plan statuses committed on ${branch}`
              : unchangedNote(state, `the plan on ${branch}`)
            : `NOT written back: ${error}`,
        warnings: resolution?.notes ?? [],
      };
    }
  } else if (mode === 'integration-branch' && update !== null) {
    // An integration that never started (no task was ready to merge) did not fail to finish.
    writeBackOutcome = skipped(
      mode,
      state.integration_progress == null
        ? 'no task was ready to merge, so there is no integration branch to commit the plan on: it was not written back (--write-back working-tree writes the statuses into your plan file)'
        : 'the integration did not finish (see above), so the plan was not written back',
    );
  }
  if (mode === 'working-tree' && update !== null && planFile !== null) {
    writeBackOutcome = await writeWorkingTree(state, plan!, update, planFile, options);
  }
  if (mode === 'none') writeBackOutcome = skipped(mode, 'write-back is off (--no-write-back)');
  options.notify(state, `plan write-back (${mode}): ${writeBackOutcome.note}`);
  // A warning on a task is said once, with its task, in the summary and the report.
  for (const warning of writeBackOutcome.warnings) {
    if (!onSomeTask(state, warning)) options.notify(state, `plan: ${warning}`);
  }
  return { file, commit, writeBack: writeBackOutcome };
}

function onSomeTask(state: ExecutionState, warning: string): boolean {
  return Object.values(state.tasks).some((run) => run.warnings?.includes(warning) === true);
}

/** `reports/<id>.md`, refusing a configured folder that would leave the repository. */
export function reportPathOf(dir: string, executionId: string): string {
  const problem = reportDirProblem(dir);
  if (problem !== null) {
    throw new ConfigurationError(CONFIG_PATH, null, `"report.dir": ${problem}`, REPORT_DIR_HINT);
  }
  return reportPathIn(reportFolder(dir), executionId);
}

/** The plan's repository-relative path when it is Markdown inside the repository (written back). */
export function markdownPlanFile(planFile: string): string | null {
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

function skipped(mode: WriteBackMode, note: string, warnings: string[] = []): PlanWriteBackOutcome {
  return { mode, file: null, changed: false, note, warnings };
}

/**
 * `--write-back working-tree`: the user's plan file, from the plan as it was at the base. An edit
 * of the file since then (theirs, or an agent's in the checkout) is carried when it touches no
 * task, else the file is left alone and the output says why. The agents' own edits of the plan
 * stay on the integration branch, and the output says that too.
 */
async function writeWorkingTree(
  state: ExecutionState,
  plan: Plan,
  update: PlanWriteBack,
  planFile: string,
  options: ReportStepOptions,
): Promise<PlanWriteBackOutcome> {
  const file = join(state.repo_root, planFile);
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current === null) return skipped('working-tree', `${file} is gone; nothing written back`);
  const resolution = await resolvePlan({
    base: await planAt(state.repo_root, state.base_sha, planFile, options.env),
    current,
    plan,
    update,
    editors: 'someone (you, or an agent: see "Your checkout")',
    where: file,
    otherwise: 'refuse',
    env: options.env,
  });
  const onBranch = await planEditors(state, planFile, state.integration?.merged ?? [], options.env);
  const warnings = [
    ...resolution.notes,
    ...(onBranch.length === 0
      ? []
      : [
          `${editorsText(onBranch)} edited ${planFile} on ${onBranch.length === 1 ? 'its' : 'their'} branch; that edit is not in your plan file, and ${state.integration!.branch} has the plan as it was at the start (the edit is in its history, with the task's merge), so that merging it leaves your plan file alone`,
        ]),
  ];
  const next = resolution.text;
  if (next === null) {
    const error = resolution.error ?? 'nothing written back';
    return skipped('working-tree', `NOT written back: ${error}`, warnings);
  }
  if (next === current) {
    return {
      mode: 'working-tree',
      file,
      changed: false,
      note: unchangedNote(state, file),
      warnings,
    };
  }
  await writeFile(file, next);
  return {
    mode: 'working-tree',
    file,
    changed: true,
    note: `plan statuses written to ${file}`,
    warnings,
  };
}

function commitMessage(state: ExecutionState, withPlan: boolean, basePlan = false): string {
  const subject = `parallel-executor: report of execution ${state.execution_id}`;
  const body = withPlan
    ? `The execution report, and the plan's task statuses written back (${state.plan_file}).`
    : basePlan
      ? `The execution report; ${state.plan_file} is kept as it was at the start, a task's edit of it left out (the statuses are written into the plan file of the checkout).`
      : 'The execution report.';
  return `${subject}\n\n${body}`;
}

/**
 * Why the plan was left as it was. A merged task that changed nothing stays open in the plan (see
 * planUpdate): "already says so" read as if the plan said it was done.
 */
function unchangedNote(state: ExecutionState, where: string): string {
  const open = (state.integration?.merged ?? []).filter((id) => {
    const run = state.tasks[id];
    return run !== undefined && changedNothing(run);
  });
  if (open.length === 0) return `${where} already says so`;
  const stay = open.length === 1 ? 'stays' : 'stay';
  return `${where} is unchanged: ${open.join(', ')} changed nothing, so ${stay} open there`;
}
