import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from '../path-exists.js';
import { loadAgentDefinitions, type AgentDefinition } from './agents.js';
import { parsePlan } from './parse.js';
import { readPlanFile } from './plan-file.js';
import type { Diagnostic, Plan } from './schema.js';
import { planDiagnostics } from './validate.js';

export { parsePlan } from './parse.js';
export { planDiagnostics, validatePlan } from './validate.js';
export { writeBack, type PlanWriteBack, type TaskOutcome } from './write-back.js';
export { parseDuration } from './estimates.js';
export { findAgentDefinition, loadAgentDefinitions, type AgentDefinition } from './agents.js';
export { findCycle } from './cycle.js';

export interface LoadedPlan {
  text: string;
  /** Where the plan really is (a link inside the repository resolved): where write-back goes. */
  realFile: string;
  plan: Plan;
  /** Parser findings, then validation findings, by line; agent-file findings carry `file`. */
  diagnostics: Diagnostic[];
  /** No diagnostic of severity error. */
  valid: boolean;
  /** The `.claude/agents` directory that was checked, or null when there is none. */
  agentsDir: string | null;
  agentDefinitions: AgentDefinition[] | null;
}

export interface LoadPlanOptions {
  /** Where a relative `file` is resolved and the last place `.claude/agents` is looked for. */
  cwd?: string;
}

/**
 * Read, parse and validate a plan file. Agent definitions come from the first `.claude/agents`
 * found from the plan's folder up to its repository root (the folder holding `.git`), else in
 * `cwd`; with none, the agent-definition check is skipped.
 */
export async function loadPlan(file: string, options: LoadPlanOptions = {}): Promise<LoadedPlan> {
  const absolute = path.resolve(options.cwd ?? '.', file);
  const root = await repositoryRoot(path.dirname(absolute));
  const { text, real } = await readPlanFile(absolute, file, root);
  const parsed = parsePlan(text);
  const agentsDir = await findAgentsDir(path.dirname(absolute), options.cwd ?? null);
  const loaded = agentsDir ? await loadAgentDefinitions(agentsDir, root) : null;
  const diagnostics = [
    ...planDiagnostics(parsed, { agentDefinitions: loaded?.definitions ?? null }),
    ...(loaded?.diagnostics ?? []),
  ];
  return {
    text,
    realFile: real,
    plan: parsed.plan,
    diagnostics,
    valid: diagnostics.every((diagnostic) => diagnostic.severity !== 'error'),
    agentsDir,
    agentDefinitions: loaded?.definitions ?? null,
  };
}

/**
 * The nearest `.claude/agents`: in the plan's folder, then in each parent up to the repository
 * root when the plan is inside a git repository, then in `cwd`.
 */
export async function findAgentsDir(from: string, cwd: string | null): Promise<string | null> {
  const start = path.resolve(from);
  const root = await repositoryRoot(start);
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.claude', 'agents');
    if (await isDirectory(candidate)) return candidate;
    if (root === null || dir === root || path.dirname(dir) === dir) break;
  }
  const fallback = cwd ? path.join(path.resolve(cwd), '.claude', 'agents') : null;
  return fallback && (await isDirectory(fallback)) ? fallback : null;
}

/** The nearest folder holding `.git`, from `from` up; null outside a repository. */
export async function repositoryRoot(from: string): Promise<string | null> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (await pathExists(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

async function isDirectory(target: string): Promise<boolean> {
  try {
    return (await stat(target)).isDirectory();
  } catch {
    return false;
  }
}
