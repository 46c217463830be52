/**
 * The engine's plan parser and validator as the action uses them: the plan's text in, the plan and
 * every diagnostic (parse, validation, agent definitions from `.claude/agents`) out.
 */
import { dirname } from 'node:path';
import {
  findAgentsDir,
  loadAgentDefinitions,
  parsePlan,
  planDiagnostics,
} from '../engine/plan/index.js';
import type { AgentDefinition } from '../engine/plan/agents.js';
import type { Diagnostic, Plan } from '../engine/plan/schema.js';

export interface PlanReading {
  plan: Plan;
  /** Parse and validation diagnostics together; any `error` means the plan cannot run. */
  diagnostics: Diagnostic[];
}

export type ReadPlan = (text: string, file: string) => PlanReading;

/**
 * Loads the agent definitions the plan is checked against (the nearest `.claude/agents` from the
 * plan's folder up to the workspace), then returns a pure reader.
 */
export async function loadPlanReader(planPath: string, workspace: string): Promise<ReadPlan> {
  const agentsDir = await findAgentsDir(dirname(planPath), workspace);
  const loaded = agentsDir ? await loadAgentDefinitions(agentsDir, workspace) : null;
  const definitions: AgentDefinition[] | null = loaded?.definitions ?? null;
  return (text) => {
    const parsed = parsePlan(text);
    return {
      plan: parsed.plan,
      diagnostics: [
        ...planDiagnostics(parsed, { agentDefinitions: definitions }),
        ...(loaded?.diagnostics ?? []),
      ],
    };
  };
}
