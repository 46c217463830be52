/**
 * Integrate mode (no AI, write token): verify each task's bundle, push the task branches, run the
 * integration (batch-and-bisect), push the integration branch, open or update the PR, post the
 * report. It needs the engine's integration and report steps, which are not in this build yet.
 */
import { PreflightError } from '../../engine/errors.js';
import type { IntegrateSettings } from '../settings.js';
import type { ModeDeps } from './types.js';

export async function runIntegrateMode(
  settings: IntegrateSettings,
  _deps: ModeDeps,
): Promise<void> {
  throw new PreflightError(
    `integrate mode (execution ${settings.executionId}) is not available in this build: it needs the engine's integration and report steps`,
    'Use a release of the action that includes integrate mode.',
  );
}
