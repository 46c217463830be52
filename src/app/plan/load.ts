/**
 * The plan at a commit, parsed and checked by the engine (agents are checked against the names of
 * the files in `.claude/agents/` at the same commit). The app never runs anything from the plan:
 * it only reads ids, titles and lines, for check runs and the workflow's inputs.
 */
import type { AgentDefinition } from '../../engine/plan/agents.js';
import { parsePlan } from '../../engine/plan/parse.js';
import type { Diagnostic, Plan } from '../../engine/plan/schema.js';
import { planDiagnostics } from '../../engine/plan/validate.js';
import type { Scope } from '../scope.js';

export const AGENTS_DIR = '.claude/agents';

export type PlanResult =
  | { kind: 'missing'; path: string; ref: string }
  | { kind: 'invalid'; path: string; diagnostics: Diagnostic[] }
  | { kind: 'valid'; path: string; plan: Plan; text: string; warnings: Diagnostic[] };

export async function loadPlan(scope: Scope, path: string, ref: string): Promise<PlanResult> {
  const [file, agentFiles] = await Promise.all([
    scope.forge.getFile(path, ref),
    scope.api.listDirectory(AGENTS_DIR, ref),
  ]);
  if (file === null) return { kind: 'missing', path, ref };
  return checkPlanText(
    file.content,
    path,
    agentFiles === null ? null : agentDefinitions(agentFiles),
  );
}

export function checkPlanText(
  text: string,
  path: string,
  agentDefinitions: AgentDefinition[] | null,
): PlanResult {
  const parsed = parsePlan(text);
  const diagnostics = planDiagnostics(parsed, { agentDefinitions })
    // Findings in agent files are the validate CLI's business; annotations here sit on the plan.
    .filter((d) => d.file === undefined)
    .sort((a, b) => a.line - b.line || a.column - b.column);
  if (diagnostics.some((d) => d.severity === 'error'))
    return { kind: 'invalid', path, diagnostics };
  return { kind: 'valid', path, plan: parsed.plan, text, warnings: diagnostics };
}

/** Definitions known by file name only: enough to tell a known agent from a typo. */
function agentDefinitions(files: string[]): AgentDefinition[] {
  return files
    .filter((name) => name.toLowerCase().endsWith('.md'))
    .map((name) => {
      const base = name.slice(0, -3);
      return {
        name: base,
        fileName: base,
        file: `${AGENTS_DIR}/${name}`,
        description: null,
        tools: null,
        model: null,
        prompt: '',
      };
    });
}
