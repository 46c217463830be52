/**
 * What every mode reads from the checked-out repository: the plan, parsed and validated once,
 * with errors that say which file and what to do (the config: the engine's `readConfigFile`).
 */
import { UsageError } from '../engine/errors.js';
import { readPlanFile } from '../engine/plan/plan-file.js';
import type { Plan } from '../engine/plan/schema.js';
import type { ModeDeps } from './modes/types.js';
import type { PlanReading } from './plan-reader.js';

export async function readPlanText(
  planPath: string,
  planFile: string,
  workspace: string,
): Promise<string> {
  try {
    return (await readPlanFile(planPath, planFile, workspace)).text;
  } catch (error) {
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code !== 'ENOENT') throw error;
    throw new UsageError(
      `the plan ${planFile} does not exist in the checked-out repository`,
      'Check the `plan` input, and that actions/checkout ran on the ref that holds the plan.',
    );
  }
}

export interface LoadedPlan extends PlanReading {
  text: string;
}

/** The plan with its diagnostics; the caller decides what errors mean for it. */
export async function loadPlan(
  deps: Pick<ModeDeps, 'readPlan'>,
  settings: { planPath: string; planFile: string; runner: { workspace: string } },
): Promise<LoadedPlan> {
  const text = await readPlanText(settings.planPath, settings.planFile, settings.runner.workspace);
  const reader = await deps.readPlan(settings.planPath, settings.runner.workspace);
  return { text, ...reader(text, settings.planFile) };
}

/** Agent and integrate modes run a plan the plan job already accepted; errors here mean it changed. */
export function requireRunnable(reading: PlanReading, planFile: string): Plan {
  const errors = reading.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return reading.plan;
  throw new UsageError(
    `${planFile} has ${errors.length} error${errors.length === 1 ? '' : 's'}; the first: line ${errors[0]!.line}: ${errors[0]!.message}`,
    'The plan job shows every problem; fix the plan and start the run again.',
  );
}
