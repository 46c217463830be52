/**
 * The workflow the app dispatches, read from the default branch (where `workflow_dispatch` takes
 * it from): that it exists, and which inputs it declares — GitHub refuses a dispatch with an
 * input the workflow does not declare, so the app sends only those.
 */
import { isMap, parseDocument } from 'yaml';
import type { RepoForge } from './types.js';

export interface WorkflowInfo {
  path: string;
  /** Inputs under `on.workflow_dispatch.inputs`. */
  inputs: Set<string>;
  /** It starts on `issue_comment` itself, so it already runs every `/parallel-run` comment. */
  onComments: boolean;
}

export function workflowPath(workflow: string): string {
  return workflow.includes('/') ? workflow : `.github/workflows/${workflow}`;
}

/** The workflow's declared dispatch inputs; null when the file is not on the default branch. */
export async function readWorkflow(
  forge: RepoForge,
  workflow: string,
  defaultBranch: string,
): Promise<WorkflowInfo | null> {
  const path = workflowPath(workflow);
  const file = await forge.getFile(path, defaultBranch);
  if (file === null) return null;
  return {
    path,
    inputs: dispatchInputNames(file.content),
    onComments: triggers(file.content).has('issue_comment'),
  };
}

export function dispatchInputNames(yamlText: string): Set<string> {
  const doc = parseDocument(yamlText);
  const on = doc.get('on');
  if (!isMap(on)) return new Set();
  const dispatch = on.get('workflow_dispatch');
  const inputs = isMap(dispatch) ? dispatch.get('inputs') : null;
  if (!isMap(inputs)) return new Set();
  return new Set(
    inputs.items.map((item) => String((item.key as { value?: unknown })?.value ?? item.key)),
  );
}

/** The events under `on:`, written as a name, a list or a map. */
function triggers(yamlText: string): Set<string> {
  const on: unknown = parseDocument(yamlText).toJS()?.on;
  if (typeof on === 'string') return new Set([on]);
  if (Array.isArray(on)) return new Set(on.map(String));
  return new Set(on !== null && typeof on === 'object' ? Object.keys(on) : []);
}

/**
 * One `/parallel-run`, one execution: a workflow that listens to comments runs the command itself,
 * so the app leaves `run` and `retry` to it and says how to hand them to the app instead.
 */
export function workflowTakesCommentsText(path: string, defaultBranch: string): string {
  return [
    `ℹ️ \`${path}\` on \`${defaultBranch}\` starts on \`/parallel-run\` comments itself (\`on: issue_comment\`), so that workflow runs this command and the app stays out of it: one command, one execution.`,
    '',
    'To have the app run `/parallel-run` and `/parallel-run retry` instead (a check run per task, the live dashboard, `cancel`), delete the `issue_comment:` trigger from that workflow on the default branch; the app dispatches it through `workflow_dispatch`.',
  ].join('\n');
}

export function missingWorkflowText(path: string, defaultBranch: string): string {
  return [
    `❌ The workflow \`${path}\` is not on the default branch \`${defaultBranch}\`, so nothing was started.`,
    '',
    'GitHub only dispatches workflows from the default branch. Add the reusable workflow there (see the README), or point `github.workflow` in `.github/parallel-executor.yml` at yours.',
  ].join('\n');
}
