import type { Clock } from '../../engine/ports/clock.js';
import type { RepoForge } from '../../forge/types.js';
import type { ReadPlan } from '../plan-reader.js';
import type { ActionRuntime } from '../runtime.js';

/** What every mode gets from `run()`: the runner, a forge (null without a token), the plan reader. */
export interface ModeDeps {
  runtime: ActionRuntime;
  forge: RepoForge | null;
  /** The forge that opens the integration PR (`pr-token`), or null to use `forge`. */
  prForge: RepoForge | null;
  /** The plan reader, with the agent definitions found from the plan's folder up to the workspace. */
  readPlan: (planPath: string, workspace: string) => Promise<ReadPlan>;
  clock: Clock;
  /** The step's environment (the agents' and checks' environments are filtered from it). */
  env: Record<string, string | undefined>;
}
