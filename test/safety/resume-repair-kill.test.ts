import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, scratch, task, type Scratch } from '../engine/helpers.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  checkInvariant,
  describe as describeReport,
  readLedger,
  snapshotCheckout,
  type CheckoutSnapshot,
} from '../support/invariant.js';
import { killHard, lines, readStateFile, spawnRun, waitFor } from './resume-support.js';
import { RECORD } from '../repair/helpers.js';

/**
 * kill -9 of the orchestrator while a repair agent runs, then `resume`: the repair is never
 * silently dropped nor called merged. The interrupted attempt's work (uncommitted here) is kept
 * under its ref, its orphaned agent stopped, its worktree removed, and the repair runs again
 * (an interrupted attempt does not count against --repair-attempts) — or, with repairs off on
 * resume, the task is reported as interrupted and left out.
 */

let repo: TempRepo;
let box: Scratch | undefined;
let env: Record<string, string | undefined>;
let before: CheckoutSnapshot;

afterEach(async () => {
  // Whatever a test left waiting (an orphaned repair agent) ends now.
  if (box !== undefined) await writeFile(box.file('go'), '').catch(() => undefined);
  await repo?.cleanup();
  await box?.cleanup();
  box = undefined;
});

/** Tasks c and d both write shared.txt: d conflicts with c and is handed to a repair. */
const CONFLICTING = `echo "$PE_TASK_ID" > shared.txt && git add -A && git commit -qm "task $PE_TASK_ID" && ${RECORD}`;

/**
 * The first repair attempt leaves a file uncommitted, says it is running (its pid in $READY) and
 * waits for $GO, which never comes while the orchestrator lives; a later attempt resolves the
 * conflict and commits.
 */
const AGENT = `if [ -n "$PE_REPAIR" ]; then
  echo "$PE_REPAIR_OF" >> "$REPAIRS"
  if grep -q '^Attempt 1 of' "$PE_CONTEXT_FILE"; then
    printf half > notes.txt
    printf '{"uncommitted":"notes.txt","content":"half","task":"d-repair"}\\n' >> "$LEDGER/repair.jsonl"
    echo $$ > "$READY.tmp" && mv "$READY.tmp" "$READY"
    while [ ! -e "$GO" ]; do sleep 0.1; done
    exit 9
  fi
  printf 'c\\nd\\n' > shared.txt && git add shared.txt && git commit -qm "resolve c and d" && ${RECORD}
else ${CONFLICTING}; fi`;

async function setUp(): Promise<void> {
  repo = await createTempRepo({
    files: {
      '.gitignore': 'plan.json\n',
      'README.md': 'x\n',
      // A short grace: the orphan resume stops is quick to go.
      '.github/parallel-executor.yml': 'timeouts:\n  grace: 1s\n',
    },
  });
  box = await scratch();
  await mkdir(box.file('ledger'));
  env = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    GO: box.file('go'),
    READY: box.file('ready'),
    REPAIRS: box.file('repairs'),
    LEDGER: box.file('ledger'),
  };
  await writePlanJson(repo.dir, plan([task('c'), task('d')]));
  before = await snapshotCheckout(repo.dir);
}

/** Runs until the first repair agent is running, then kill -9: its state as the orphan sees it. */
async function killDuringRepair(): Promise<{ state: ExecutionState; agentPid: number }> {
  const first = spawnRun(repo.dir, env, [
    '--plan',
    'plan.json',
    '--agent-command',
    AGENT,
    '--repair-attempts',
    '1',
  ]);
  const ready = box!.file('ready');
  await waitFor(async () => existsSync(ready), 60_000);
  await killHard(first);
  const agentPid = Number((await readFile(ready, 'utf8')).trim());
  const state = (await readStateFile(repo.dir))!;
  return { state, agentPid };
}

interface ResumeDoc {
  status: string;
  integration: {
    branch: string;
    merged: string[];
    conflicts: { taskId: string }[];
    repairs?: {
      taskId: string;
      outcome: string;
      attempts: number;
      interrupted?: number;
      reason: string | null;
      keptRefs: string[];
      workspaces?: { attempt: number; branch: string; worktree: string }[];
    }[];
    repairing?: unknown;
  } | null;
  reportCommit?: { path: string } | null;
}

async function resume(extra: string[] = []) {
  const result = await cli(['resume', '--json', ...extra], repo.dir, env);
  return { ...result, doc: JSON.parse(result.stdout || '{}') as ResumeDoc };
}

async function expectNothingLost(): Promise<void> {
  const report = await checkInvariant({
    repoRoot: repo.dir,
    state: (await readStateFile(repo.dir))!,
    ledger: await readLedger(box!.file('ledger')),
    before,
  });
  expect(report.ok, describeReport(report)).toBe(true);
}

describe('resume after kill -9 during a repair', () => {
  it('keeps what the interrupted attempt left, stops its agent, and repairs again', async () => {
    await setUp();
    const { state: killed, agentPid } = await killDuringRepair();
    // The state says a repair is under way, and where: what resume needs.
    expect(killed.status).toBe('in_progress');
    expect(killed.integration?.merged).toEqual(['c']);
    const [inFlight] = killed.integration?.repairing?.attempts ?? [];
    expect(inFlight).toMatchObject({ taskId: 'd', kind: 'conflict', attempt: 1, headSha: null });
    expect(inFlight!.branch).toMatch(/-repair$/);
    expect(existsSync(inFlight!.worktree)).toBe(true);
    expect(isProcessAlive(agentPid)).toBe(true);

    const { code, stderr, doc } = await resume();
    expect(code, stderr).toBe(0);
    expect(doc.status).toBe('completed');
    expect(doc.integration!.merged).toEqual(['c', 'd']);
    expect(doc.integration!.conflicts).toEqual([]);
    expect(doc.integration!.repairing).toBeUndefined();
    const exec = killed.execution_id;
    const [repair] = doc.integration!.repairs!;
    expect(repair).toMatchObject({
      taskId: 'd',
      outcome: 'merged',
      attempts: 2,
      interrupted: 1,
      reason: null,
      keptRefs: [
        `refs/parallel-executor/${exec}/d-repair/attempt-1`,
        `refs/parallel-executor/${exec}/d-repair/attempt-2`,
      ],
    });
    expect(repair!.workspaces!.map((w) => [w.attempt, w.branch])).toEqual([
      [1, inFlight!.branch],
      [2, `${inFlight!.branch}-2`],
    ]);
    // The orphaned agent was stopped before its worktree was touched; the agent ran once more.
    expect(isProcessAlive(agentPid)).toBe(false);
    expect(await lines(box!.file('repairs'))).toEqual(['d', 'd']);
    // What it left uncommitted is kept under its attempt's ref; its worktree is gone.
    expect(
      await repo.git(['show', `refs/parallel-executor/${exec}/d-repair/attempt-1:notes.txt`]),
    ).toBe('half');
    expect(existsSync(inFlight!.worktree)).toBe(false);
    expect(await repo.git(['worktree', 'list', '--porcelain'])).not.toContain(inFlight!.worktree);
    expect(stderr).toContain(`refs/parallel-executor/${exec}/d-repair/attempt-1`);
    // The repair that landed is on the integration branch and the report says what happened.
    const branch = doc.integration!.branch;
    expect(await repo.git(['show', `${branch}:shared.txt`])).toBe('c\nd');
    expect(await repo.git(['show', `${branch}:${doc.reportCommit!.path}`])).toMatch(
      /d: merged, repaired after a merge conflict[^\n]* in 2 attempts, 1 interrupted when the orchestrator stopped/,
    );
    // The clean-up after the run deleted both repair branches: the interrupted attempt's is at
    // the integration head it started from (its merge was never committed), so merged too; what
    // it held is under its ref.
    const heads = (
      await repo.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'])
    ).split('\n');
    expect(heads).toEqual(expect.arrayContaining([branch]));
    expect(heads.filter((head) => head.includes('-repair'))).toEqual([]);
    await expectNothingLost();
  }, 120_000);

  it('with repairs off on resume, reports the repair as interrupted and the task as left out', async () => {
    await setUp();
    const { state: killed } = await killDuringRepair();
    const { code, doc } = await resume(['--repair-attempts', '0']);
    expect(code).toBe(1);
    expect(doc.status).toBe('failed');
    expect(doc.integration!.merged).toEqual(['c']);
    expect(doc.integration!.conflicts.map((entry) => entry.taskId)).toEqual(['d']);
    const exec = killed.execution_id;
    expect(doc.integration!.repairs).toMatchObject([
      {
        taskId: 'd',
        outcome: 'failed',
        attempts: 1,
        interrupted: 1,
        keptRefs: [`refs/parallel-executor/${exec}/d-repair/attempt-1`],
      },
    ]);
    expect(doc.integration!.repairs![0]!.reason).toBe(
      `interrupted: the orchestrator stopped during attempt 1; what it left is kept as refs/parallel-executor/${exec}/d-repair/attempt-1; not repaired again: repairs are off now (integration.repair.attempts or --repair-attempts is 0)`,
    );
    expect(await lines(box!.file('repairs'))).toEqual(['d']);
    // `clean` reports the interrupted attempt's branch as kept, with the task's reason.
    const clean = await cli(['clean', '--json'], repo.dir, env);
    expect(clean.code, clean.stderr).toBe(0);
    const items = (
      JSON.parse(clean.stdout) as {
        executions: {
          items: {
            taskId: string;
            repair?: unknown;
            kind: string;
            action: string;
            reason: string;
          }[];
        }[];
      }
    ).executions[0]!.items.filter((item) => item.repair !== undefined);
    expect(items).toEqual([
      expect.objectContaining({
        taskId: 'd',
        repair: { attempt: 1 },
        kind: 'worktree',
        action: 'absent',
      }),
      expect.objectContaining({
        taskId: 'd',
        repair: { attempt: 1 },
        kind: 'branch',
        action: 'kept',
        reason: 'merge conflict with c in shared.txt: kept for a manual merge',
      }),
    ]);
    await expectNothingLost();
  }, 120_000);

  it("clean refuses the killed execution; clean --force keeps the repair worktree's work under a ref first", async () => {
    await setUp();
    const { state: killed, agentPid } = await killDuringRepair();
    const inFlight = killed.integration!.repairing!.attempts[0]!;
    // The orphan ends on its own here: clean stops no process, it only removes what is left.
    await writeFile(box!.file('go'), '');
    await waitFor(async () => !isProcessAlive(agentPid));
    const refused = await cli(['clean'], repo.dir, env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`parallel-executor resume ${killed.execution_id}`);

    const forced = await cli(['clean', '--force', '--json'], repo.dir, env);
    expect(forced.code, forced.stderr).toBe(0);
    const [result] = (
      JSON.parse(forced.stdout) as {
        executions: {
          items: {
            taskId: string;
            repair?: unknown;
            kind: string;
            target: string;
            action: string;
          }[];
          keptRefs: { taskId: string; ref: string; why: string }[];
        }[];
      }
    ).executions;
    const ref = `refs/parallel-executor/${killed.execution_id}/d-repair/attempt-1`;
    expect(result!.keptRefs).toContainEqual(
      expect.objectContaining({ taskId: 'd', ref, why: 'clean: repair worktree removed' }),
    );
    expect(result!.items.filter((item) => item.repair !== undefined)).toEqual([
      expect.objectContaining({ kind: 'worktree', target: inFlight.worktree, action: 'removed' }),
      expect.objectContaining({ kind: 'branch', target: inFlight.branch, action: 'removed' }),
    ]);
    expect(existsSync(inFlight.worktree)).toBe(false);
    expect(await repo.git(['show', `${ref}:notes.txt`])).toBe('half');
    // Named in the state (the task's kept refs: the attempt had no record yet).
    const state = (await readStateFile(repo.dir))!;
    expect(state.tasks['d']!.kept_refs?.map((kept) => kept.ref)).toContain(ref);
    await expectNothingLost();
  }, 120_000);
});
