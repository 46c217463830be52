import type { Clock } from '../../engine/ports/clock.js';
import type { RepoForge } from '../../forge/types.js';
import type { ReadPlan } from '../plan-reader.js';
import type { ActionRuntime } from '../runtime.js';

/** What every mode gets from `run()`: the runner, a forge (null without a token), the plan reader. */
export interface ModeDeps {
  runtime: ActionRuntime;
  forge: RepoForge | null;
  readPlan: () => Promise<ReadPlan>;
  clock: Clock;
}
