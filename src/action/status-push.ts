/**
 * A push that only moved statuses in the plan starts no run (the rule: engine/plan/status-only.ts).
 * Merging an integration PR is such a push: it brings the plan's `[x]` and `❌ failed` marks to
 * the branch, and a run on it would start the tasks the next wave already ran (or, after a
 * failure, held back for a person to look at).
 */
import { onlyStatusesChanged } from '../engine/plan/status-only.js';
import type { Plan } from '../engine/plan/schema.js';
import type { TriggerEvent } from './event.js';
import type { ModeDeps } from './modes/types.js';
import type { PlanSettings } from './settings.js';

const NO_COMMIT = /^0+$/;

/** Why this push starts nothing, or null when it may run. The plan before is read through the API:
 * the plan job's checkout has one commit. */
export async function statusOnlyPush(
  event: TriggerEvent,
  after: Plan,
  settings: Pick<PlanSettings, 'planFile' | 'planPath' | 'runner'>,
  deps: Pick<ModeDeps, 'forge' | 'readPlan'>,
): Promise<string | null> {
  if (event.kind !== 'push' || NO_COMMIT.test(event.before) || deps.forge === null) return null;
  const file = await deps.forge.getFile(settings.planFile, event.before);
  if (file === null) return null;
  const reader = await deps.readPlan(settings.planPath, settings.runner.workspace);
  if (!onlyStatusesChanged(reader(file.content, settings.planFile).plan, after)) return null;
  return `the push to ${event.ref} changed only task statuses in ${settings.planFile} (what a run writes back, e.g. a merged integration PR), so there is no new work; to run tasks anyway, run the workflow by hand with \`tasks\` naming them`;
}
