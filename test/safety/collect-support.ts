/** Shared by the collect-* safety tests: a repo, a ledger, and a run with integration. */
import { createFinisher, type Finisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS } from '../../src/engine/finish/settings.js';
import type { Plan } from '../../src/engine/plan/schema.js';
import { agentEnv, runPlan, scratch, type Recorded, type Scratch } from '../engine/helpers.js';
import type { TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
} from '../support/invariant.js';

/** The agent's git, with an identity and no signing whatever the machine says. */
export const AGENT_GIT =
  'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';

/** Shell: record HEAD in the ledger (call after each commit the agent makes). */
export const LEDGER_COMMIT =
  'printf \'{"commit":"%s","task":"%s"}\\n\' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"';

export interface CollectRun extends Recorded {
  finisher: Finisher;
  /** The invariant checker's verdict, with its description for the failure message. */
  invariant: { ok: boolean; text: string };
}

/**
 * Run `plan` with `command` as every agent, validation and integration as the CLI does them
 * (clean-up off, so the tests can look at what is left), then check the invariant.
 */
export async function runWithLedger(
  repo: TempRepo,
  thePlan: Plan,
  command: string,
  env: Record<string, string> = {},
): Promise<CollectRun> {
  const ledger: Scratch = await scratch();
  try {
    const before = await snapshotCheckout(repo.dir);
    const fullEnv = agentEnv({ LEDGER: ledger.dir, ...env });
    const finisher = createFinisher({
      settings: { ...DEFAULT_FINISH_SETTINGS, cleanUp: false },
      env: fullEnv,
    });
    const recorded = await runPlan(repo.dir, thePlan, command, {
      env: fullEnv,
      hooks: finisher.hooks,
    });
    const report = await checkInvariant({
      repoRoot: repo.dir,
      state: recorded.state,
      ledger: await readLedger(ledger.dir),
      before,
      expectedStatus: /^reports\//,
    });
    return { ...recorded, finisher, invariant: { ok: report.ok, text: describeReport(report) } };
  } finally {
    await ledger.cleanup();
  }
}

/** `git ls-tree -r --name-only` of a ref, as a list. */
export async function filesOn(repo: TempRepo, ref: string): Promise<string[]> {
  return (await repo.git(['ls-tree', '-r', '--name-only', ref])).split('\n').filter(Boolean);
}
