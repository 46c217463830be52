import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFinisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS } from '../../src/engine/finish/settings.js';
import type { ExecutionEvent } from '../../src/engine/monitor/events.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { defaultBranchName } from '../../src/engine/workspace/refs.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
} from '../support/invariant.js';
import { agentEnv, plan, runPlan, scratch, task, type Scratch } from './helpers.js';

/**
 * A task branch whose name git would read as something else — a tag, `main` — must still be the
 * branch that is merged: into its dependents' worktrees and into the integration branch.
 */

const COMMIT = 'git -c user.name=Agent -c user.email=agent@example.invalid -c commit.gpgsign=false';
/** Commits its own file; a dependent first checks that its dependency's file is there. */
const AGENT =
  'if [ -n "$NEEDS" ] && [ "$PE_TASK_ID" != "$NEEDS" ]; then test -f "work-$NEEDS.txt" || exit 7; fi; ' +
  `echo "work of $PE_TASK_ID" > "work-$PE_TASK_ID.txt" && git add "work-$PE_TASK_ID.txt" && ` +
  `${COMMIT} commit -qm "work $PE_TASK_ID" && ` +
  `printf '{"commit":"%s","task":"%s"}\\n' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"`;

let repo: TempRepo;
let ledger: Scratch;
beforeEach(async () => {
  repo = await createTempRepo();
  ledger = await scratch();
});
afterEach(async () => {
  await repo.cleanup();
  await ledger.cleanup();
});

async function runAndCheck(
  tasks: ReturnType<typeof task>[],
  needs = '',
  agent = AGENT,
  compareCheckout = true,
): Promise<ExecutionState & { events: ExecutionEvent[] }> {
  const before = compareCheckout ? await snapshotCheckout(repo.dir) : undefined;
  const finisher = createFinisher({
    settings: { ...DEFAULT_FINISH_SETTINGS, cleanUp: false },
    env: agentEnv(),
  });
  const { state, events } = await runPlan(repo.dir, plan(tasks), agent, {
    env: agentEnv({ LEDGER: ledger.dir, NEEDS: needs }),
    hooks: finisher.hooks,
  });
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state,
    ledger: await readLedger(ledger.dir),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
  expect(state.status).toBe('completed');
  const tree = await repo.git([
    'ls-tree',
    '-r',
    '--name-only',
    `refs/heads/${state.integration!.branch}`,
  ]);
  for (const t of tasks) expect(tree.split('\n')).toContain(`work-${t.id}.txt`);
  return { ...state, events };
}

describe('task branches are merged by their full ref', () => {
  it('a Branch cell naming an existing tag: the task gets its own branch, dependents get its work', async () => {
    await repo.git(['tag', 'v2']);
    const state = await runAndCheck(
      [task('1', { branch: 'v2' }), task('2', { dependsOn: ['1'] })],
      '1',
    );
    const run = state.tasks['1']!;
    expect(run.branch).not.toBe('v2');
    expect(run.warnings).toEqual([
      `the plan's Branch \`v2\` names an existing tag: the task works on branch ${run.branch}`,
    ]);
    expect(state.events).toContainEqual({
      type: 'warning',
      taskId: '1',
      message: run.warnings![0],
    });
    // The tag is where it was.
    expect(await repo.git(['rev-parse', 'refs/tags/v2'])).toBe(state.base_sha);
  });

  it('a tag named like the derived branch does not stand in for the branch', async () => {
    const derived = defaultBranchName('Builder-1', '1', 'Task 1');
    await repo.git(['tag', derived]);
    const state = await runAndCheck([task('1'), task('2', { dependsOn: ['1'] })], '1');
    expect(state.tasks['1']!.branch).not.toBe(derived);
  });

  it('a Branch cell refs/heads/main neither merges main nor creates refs/heads/refs/heads/main', async () => {
    const state = await runAndCheck(
      [task('1', { branch: 'refs/heads/main' }), task('2', { dependsOn: ['1'] })],
      '1',
    );
    const run = state.tasks['1']!;
    expect(run.branch).not.toMatch(/^refs\//);
    expect(run.branch).not.toBe('main');
    expect(run.warnings).toEqual([
      "the plan's Branch `refs/heads/main` (as a branch: main) names an existing branch: the task works on branch main-2",
    ]);
    expect(await repo.git(['for-each-ref', '--format=%(refname)', 'refs/heads/refs/'])).toBe('');
    expect(await repo.git(['rev-parse', 'refs/heads/main'])).toBe(state.base_sha);
  });

  it('a tag made during the run with the task branch name does not stand in for it either', async () => {
    // The layout cannot see this tag coming: only merging by full ref keeps the task's work.
    const tagging = `if [ "$PE_TASK_ID" = 1 ]; then git tag "$PE_BRANCH" HEAD; fi; ${AGENT}`;
    const state = await runAndCheck(
      [task('1'), task('2', { dependsOn: ['1'] })],
      '1',
      tagging,
      false,
    );
    expect(await repo.git(['rev-parse', `refs/tags/${state.tasks['1']!.branch}`])).toBe(
      state.base_sha,
    );
  });
});
