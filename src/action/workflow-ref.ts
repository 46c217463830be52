/**
 * The workflow a job belongs to, from `GITHUB_WORKFLOW_REF` (for a reusable workflow: the caller,
 * the one in this repository that is dispatched and whose runs are listed).
 */
import type { RunnerContext } from './settings.js';

/** `.github/workflows/parallel-run.yml`, or null when the runner does not say (or not for this repository). */
export function runningWorkflow(runner: RunnerContext): string | null {
  const ref = runner.workflowRef;
  const prefix = `${runner.owner}/${runner.repo}/`;
  if (!ref || !ref.toLowerCase().startsWith(prefix.toLowerCase())) return null;
  const path = ref.slice(prefix.length).split('@')[0] ?? '';
  return path.startsWith('.github/workflows/') ? path : null;
}

/** The file name the Actions API takes as `workflow_id`. */
export function workflowFile(workflow: string): string {
  return workflow.split('/').pop()!;
}
