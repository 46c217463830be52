/**
 * Agent mode (one matrix leg): create the task branch, write the context bundle, run the agent and
 * the validation checks, and write the task's bundle (git bundle, diff, logs, metrics, validation
 * report) to `bundle-dir` for the workflow to upload. It never pushes and holds no write token.
 * It needs the engine's workspace, agent and validation steps, which are not in this build yet.
 */
import { PreflightError } from '../../engine/errors.js';
import type { AgentSettings } from '../settings.js';
import type { ModeDeps } from './types.js';

export async function runAgentMode(settings: AgentSettings, _deps: ModeDeps): Promise<void> {
  throw new PreflightError(
    `agent mode (task ${settings.task}) is not available in this build: it needs the engine's workspace, agent and validation steps`,
    'Use a release of the action that includes agent mode.',
  );
}
