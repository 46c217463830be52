/**
 * The plan at a commit, parsed and checked by the engine. The app never runs anything from it:
 * it only reads ids, titles and lines, for check runs and the workflow's inputs.
 */
import type { Diagnostic, Plan } from '../../engine/plan/schema.js';
import { parsePlan } from '../../engine/plan/parse.js';
import type { RepoForge } from '../../forge/types.js';

export type PlanResult =
  | { kind: 'missing'; path: string; ref: string }
  | { kind: 'invalid'; path: string; diagnostics: Diagnostic[] }
  | { kind: 'valid'; path: string; plan: Plan; text: string; warnings: Diagnostic[] };

export async function loadPlan(forge: RepoForge, path: string, ref: string): Promise<PlanResult> {
  const file = await forge.getFile(path, ref);
  if (file === null) return { kind: 'missing', path, ref };
  return checkPlanText(file.content, path);
}

export function checkPlanText(text: string, path: string): PlanResult {
  const { plan, diagnostics } = parsePlan(text);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) return { kind: 'invalid', path, diagnostics };
  return { kind: 'valid', path, plan, text, warnings: diagnostics };
}
