import type { Config } from '../config/schema.js';
import { detectChecks } from '../validate/detect.js';

/**
 * The integration test command: `integration.testCommand` from the config (`false`: none), else
 * the validation tests command, configured or detected in `repoDir` (the base's package.json).
 */
export async function integrationTestCommand(
  repoDir: string,
  config: Pick<Config, 'integration' | 'validation'>,
): Promise<string | null> {
  const configured = config.integration.testCommand;
  if (configured === false) return null;
  if (configured !== undefined) return configured;
  const checks = await detectChecks(repoDir, config.validation);
  return checks.find((check) => check.name === 'tests')?.command ?? null;
}
