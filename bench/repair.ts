/**
 * The repair loop on constructed cases: task branches of which some conflict with an earlier one
 * (the same line of shared.txt), some are bisect culprits (they write BROKEN, which fails the
 * repository's test) and some are culprits the scripted repair agent cannot mend (it gives up).
 * Each case is integrated with batch-and-bisect, then repaired by a scripted repair command (real
 * processes, real git, the engine's own loop), and compared in the same run with the baseline,
 * integration without repair: how many tasks end merged, in how many agent attempts and
 * integration test runs.
 *
 *   npx tsx bench/repair.ts
 */
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { integrate } from '../src/engine/integrate/integrate.js';
import type { IntegrationCandidate } from '../src/engine/integrate/candidates.js';
import type { IntegrationResult } from '../src/engine/integrate/schema.js';
import { repairTasks } from '../src/engine/repair/repair.js';
import type { ExecutionState, TaskRun } from '../src/engine/state/schema.js';
import { DEFAULT_IDENTITY } from '../src/engine/workspace/identity.js';
import { makeRepo, TEST_COMMAND, type RepoFixture } from '../test/integrate/fixture.js';
import { task as fixtureTask } from '../test/report/fixture.js';

/** Resolves a conflict by keeping both sides; mends BROKEN; gives up on what says unfixable. */
const REPAIR_AGENT = `set -e
if grep -rq unfixable src; then echo "cannot mend this one"; exit 1; fi
if [ "$PE_REPAIR" = conflict ]; then sed -i '/^<<<<<<< /d;/^=======$/d;/^>>>>>>> /d' shared.txt; fi
if [ "$PE_REPAIR" = tests ]; then sed -i 's/BROKEN/mended/' src/*.txt; fi
git add -A && git commit -q -m "repair of $PE_REPAIR_OF ($PE_REPAIR)"
`;

interface Case {
  n: number;
  conflicts: number;
  culprits: number;
  unfixable: number;
  attempts: number;
}

const CASES: Case[] = [
  { n: 4, conflicts: 1, culprits: 0, unfixable: 0, attempts: 1 },
  { n: 4, conflicts: 0, culprits: 1, unfixable: 0, attempts: 1 },
  { n: 8, conflicts: 1, culprits: 1, unfixable: 0, attempts: 1 },
  { n: 8, conflicts: 2, culprits: 1, unfixable: 1, attempts: 1 },
  { n: 16, conflicts: 2, culprits: 2, unfixable: 0, attempts: 1 },
  { n: 16, conflicts: 2, culprits: 2, unfixable: 1, attempts: 2 },
];

/** Branch i's kind: the first ones are clean, then conflicts (and the branch they hit), culprits, unfixable. */
async function branches(repo: RepoFixture, c: Case, tag: string): Promise<IntegrationCandidate[]> {
  const out: IntegrationCandidate[] = [];
  for (let i = 1; i <= c.n; i++) {
    const taskId = `T${i}`;
    const branch = `${tag}/${taskId}`;
    const files: Record<string, string> = { [`src/${taskId}.txt`]: `work of ${taskId}\n` };
    const k = c.n - i; // counted from the end, so the left-out ones come last in merge order
    if (k < c.unfixable) files[`src/${taskId}.txt`] = 'BROKEN unfixable\n';
    else if (k < c.unfixable + c.culprits) files[`src/${taskId}.txt`] = 'BROKEN\n';
    else if (k < c.unfixable + c.culprits + c.conflicts + 1) {
      files['shared.txt'] = `line 1\nline 2 by ${taskId}\nline 3\n`;
    }
    await repo.branch(branch, files);
    out.push({ taskId, agent: `A${i}`, branch, dependsOn: [] });
  }
  return out;
}

function stateFor(
  repo: RepoFixture,
  candidates: IntegrationCandidate[],
  id: string,
): ExecutionState {
  const tasks: Record<string, TaskRun> = {};
  for (const c of candidates) {
    tasks[c.taskId] = fixtureTask(c.taskId, {
      agent: c.agent,
      agents: [c.agent],
      branch: c.branch,
      start_sha: repo.baseSha,
    });
  }
  return {
    version: 1,
    execution_id: id,
    plan_file: '',
    plan_title: null,
    parallel_group: 'all',
    repo_root: repo.root,
    base_ref: 'main',
    base_sha: repo.baseSha,
    started_at: new Date().toISOString(),
    finished_at: null,
    status: 'in_progress',
    orchestrator_pid: null,
    tasks,
    task_order: candidates.map((c) => c.taskId),
    completed_tasks: candidates.map((c) => c.taskId),
    failed_tasks: [],
    messages: [],
    integration: null,
    report_path: null,
  };
}

async function integrated(
  repo: RepoFixture,
  candidates: IntegrationCandidate[],
  tag: string,
): Promise<IntegrationResult> {
  return integrate({
    repoRoot: repo.root,
    baseSha: repo.baseSha,
    branchName: `integration/${tag}`,
    workdir: join(repo.dir, 'work'),
    candidates,
    testCommand: TEST_COMMAND,
    strategy: 'batch-bisect',
    detectConflicts: false,
    env: repo.env,
    logDir: join(repo.dir, 'logs', tag),
  });
}

const repo = await makeRepo();
const rows: string[] = [];
let totals = {
  leftOut: 0,
  merged: 0,
  agentRuns: 0,
  baseRuns: 0,
  repairRuns: 0,
  baseMerged: 0,
  repairedMerged: 0,
};
try {
  for (const [index, c] of CASES.entries()) {
    const tag = `case-${index + 1}`;
    const candidates = await branches(repo, c, tag);
    const baseline = await integrated(repo, candidates, `${tag}-baseline`);
    const state = stateFor(repo, candidates, `bench-${tag}`);
    state.integration = await integrated(repo, candidates, tag);
    const baseRuns = state.integration.testRuns;
    const leftOut = candidates.length - state.integration.merged.length;
    const records = await repairTasks({
      state,
      plan: null,
      runner: createCommandRunner({ command: REPAIR_AGENT }),
      attempts: c.attempts,
      on: ['conflict', 'tests', 'validation'],
      executionDir: join(repo.dir, 'exec', tag),
      env: repo.env,
      identity: DEFAULT_IDENTITY,
      validation: { critical: ['tests'] },
      testCommand: TEST_COMMAND,
      strategy: 'batch-bisect',
      setupCommand: null,
      agentTimeoutMs: 60_000,
      graceMs: 1000,
      notify: () => undefined,
    });
    const repaired = records.filter((r) => r.outcome === 'merged').length;
    const agentRuns = records.reduce((sum, r) => sum + r.attempts, 0);
    const repairRuns = state.integration.testRuns - baseRuns;
    totals = {
      leftOut: totals.leftOut + leftOut,
      merged: totals.merged + state.integration.merged.length,
      agentRuns: totals.agentRuns + agentRuns,
      baseRuns: totals.baseRuns + baseRuns,
      repairRuns: totals.repairRuns + repairRuns,
      baseMerged: totals.baseMerged + baseline.merged.length,
      repairedMerged: totals.repairedMerged + repaired,
    };
    rows.push(
      [
        `${c.n}`.padStart(3),
        `${c.conflicts}c ${c.culprits}t ${c.unfixable}u`.padEnd(10),
        `${c.attempts}`.padStart(8),
        `${leftOut}`.padStart(8),
        `${repaired}/${leftOut}`.padStart(9),
        `${agentRuns}`.padStart(7),
        `${baseRuns}+${repairRuns}`.padStart(10),
        `${baseline.merged.length} → ${state.integration.merged.length} of ${c.n}`.padStart(14),
        state.integration.testsPassed ? 'green' : 'RED',
      ].join('  '),
    );
  }
} finally {
  await repo.cleanup();
}
console.log(
  'Repair loop on constructed cases (c: conflicts, t: bisect culprits, u: culprits the agent cannot mend)',
);
console.log(
  '  n  case        attempts  left out  repaired  agent runs  test runs  merged (no repair → repair)  tests',
);
for (const row of rows) console.log(row);
const ratio = (totals.baseMerged + totals.repairedMerged) / totals.baseMerged;
console.log(
  `\nTotal: ${totals.repairedMerged} of ${totals.leftOut} left-out tasks repaired and merged, ` +
    `in ${totals.agentRuns} repair agent runs; integration test runs ${totals.baseRuns} (batch-and-bisect) + ` +
    `${totals.repairRuns} (repairs). Merged tasks vs the baseline without repair: ${ratio.toFixed(2)}×.`,
);
