/**
 * The plan parser and validator as plan mode uses them. They live in the engine
 * (`src/engine/plan`); until they are merged into this build, plan mode stops with a clear error.
 */
import { PreflightError } from '../engine/errors.js';
import type { Diagnostic, Plan } from '../engine/plan/schema.js';

export interface PlanReading {
  plan: Plan;
  /** Parse and validation diagnostics together; any `error` means the plan cannot run. */
  diagnostics: Diagnostic[];
}

export type ReadPlan = (text: string, file: string) => PlanReading;

export async function loadPlanReader(): Promise<ReadPlan> {
  throw new PreflightError(
    'plan mode is not available in this build: the plan parser (src/engine/plan) is not merged yet',
    'Use a release of the action that includes the plan parser.',
  );
}
