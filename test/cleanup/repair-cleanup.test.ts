import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupExecution, type CleanupItem } from '../../src/engine/cleanup/cleanup.js';
import type { RepairRecord } from '../../src/engine/integrate/schema.js';
import type { TaskRun } from '../../src/engine/state/schema.js';
import {
  addTask,
  branches,
  integrate,
  integrationResult,
  useRepos,
  run,
  TEST_ENV,
  worktreePaths,
  writeState,
  type TestRepo,
} from './repo.js';

/**
 * `clean` and the clean-up after a run treat each repair attempt's worktree and branch as the
 * task's own: built here as the repair loop leaves them (a branch `<task branch>-repair…` from the
 * integration head with the task merged, a worktree under the execution's `worktrees/`), with
 * real git, and the record the state holds.
 */

const newRepo = useRepos();

/** A repair attempt's branch and worktree: the integration head with the task merged, committed. */
async function repairAttempt(
  repo: TestRepo,
  task: TaskRun,
  branch: string,
  name: string,
): Promise<{ worktree: string; head: string; base: string }> {
  const worktree = path.join(repo.executionDir, 'worktrees', name);
  await mkdir(path.dirname(worktree), { recursive: true });
  const base = await run(repo.root, ['rev-parse', 'integration/g1']);
  await run(repo.root, ['worktree', 'add', '-q', '-b', branch, worktree, base]);
  await run(worktree, ['merge', '-q', '--no-ff', '-m', `Repair ${task.task_id}`, task.branch]);
  return { worktree, head: await run(worktree, ['rev-parse', 'HEAD']), base };
}

function record(
  taskId: string,
  outcome: RepairRecord['outcome'],
  workspaces: NonNullable<RepairRecord['workspaces']>,
  keptRefs: string[],
): RepairRecord {
  return {
    taskId,
    kind: 'conflict',
    attempts: workspaces.length,
    outcome,
    with: ['c'],
    files: ['shared.txt'],
    branch: workspaces.at(-1)!.branch,
    reason: outcome === 'merged' ? null : 'conflict markers were committed in shared.txt',
    keptRefs,
    workspaces,
    durationMs: 1000,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
  };
}

function repairItems(items: CleanupItem[], taskId: string): CleanupItem[] {
  return items.filter((item) => item.taskId === taskId && item.repair !== undefined);
}

describe('clean-up of repairs', () => {
  it('removes a repair worktree after keeping its uncommitted work, deletes the merged repair branch, leaves one that moved even with force', async () => {
    const repo = await newRepo();
    const c = await addTask(repo, { id: 'c' });
    const d = await addTask(repo, { id: 'd' });
    await integrate(repo, [c]);
    const exec = repo.executionId;
    // Attempt 1 failed: its worktree is gone, its branch kept; then someone committed on it.
    const first = await repairAttempt(repo, d, 'agent/builder/d-repair', 'repair-d-1');
    await run(repo.root, [
      'update-ref',
      `refs/parallel-executor/${exec}/d-repair/attempt-1`,
      first.head,
    ]);
    await run(repo.root, ['worktree', 'remove', first.worktree]);
    const elsewhere = path.join(repo.base, 'by-hand');
    await run(repo.root, ['worktree', 'add', '-q', elsewhere, 'agent/builder/d-repair']);
    await writeFile(path.join(elsewhere, 'by-hand.txt'), 'mine\n');
    await run(elsewhere, ['add', '-A']);
    await run(elsewhere, ['commit', '-q', '-m', 'by hand']);
    await run(repo.root, ['worktree', 'remove', elsewhere]);
    // Attempt 2 merged; its worktree was left with a file the agent never committed.
    const second = await repairAttempt(repo, d, 'agent/builder/d-repair-2', 'repair-d-2');
    await run(repo.root, [
      'update-ref',
      `refs/parallel-executor/${exec}/d-repair/attempt-2`,
      second.head,
    ]);
    await writeFile(path.join(second.worktree, 'left.txt'), 'left by the repair agent\n');
    await run(repo.root, ['switch', '-q', 'integration/g1']);
    await run(repo.root, [
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'Integrate d (repaired)',
      'agent/builder/d-repair-2',
    ]);
    await run(repo.root, ['switch', '-q', 'main']);
    const repair = record(
      'd',
      'merged',
      [
        {
          attempt: 1,
          branch: 'agent/builder/d-repair',
          worktree: first.worktree,
          baseSha: first.base,
          headSha: first.head,
        },
        {
          attempt: 2,
          branch: 'agent/builder/d-repair-2',
          worktree: second.worktree,
          baseSha: second.base,
          headSha: second.head,
        },
      ],
      [
        `refs/parallel-executor/${exec}/d-repair/attempt-1`,
        `refs/parallel-executor/${exec}/d-repair/attempt-2`,
      ],
    );
    const state = await writeState(repo, [c, d], {
      integration: integrationResult(['c', 'd'], { repairs: [repair] }),
    });

    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
      force: true,
    });

    expect(result.errors).toBe(0);
    const kept = `refs/parallel-executor/${exec}/d-repair/attempt-3`;
    expect(repairItems(result.items, 'd')).toEqual([
      {
        taskId: 'd',
        repair: { attempt: 1 },
        kind: 'worktree',
        target: first.worktree,
        action: 'absent',
        reason: 'already gone',
      },
      {
        taskId: 'd',
        repair: { attempt: 1 },
        kind: 'branch',
        target: 'agent/builder/d-repair',
        action: 'kept',
        reason: expect.stringMatching(
          /^it moved since this execution recorded it \([0-9a-f]{7}, now [0-9a-f]{7}\) and is not in integration\/g1: left alone$/,
        ),
      },
      {
        taskId: 'd',
        repair: { attempt: 2 },
        kind: 'worktree',
        target: second.worktree,
        action: 'removed',
        reason: 'task finished',
      },
      {
        taskId: 'd',
        repair: { attempt: 2 },
        kind: 'branch',
        target: 'agent/builder/d-repair-2',
        action: 'removed',
        reason: expect.stringMatching(/^merged into integration\/g1 \(was [0-9a-f]{7}\)$/),
      },
    ]);
    // The uncommitted file is in the kept ref, named in the result and in the repair's record.
    expect(result.keptRefs).toEqual([
      {
        taskId: 'd',
        ref: kept,
        sha: expect.stringMatching(/^[0-9a-f]{40}$/),
        why: 'clean: repair worktree removed',
      },
    ]);
    expect(await run(repo.root, ['show', `${kept}:left.txt`])).toBe('left by the repair agent');
    expect(state.integration!.repairs![0]!.keptRefs).toContain(kept);
    expect(existsSync(second.worktree)).toBe(false);
    expect(await worktreePaths(repo.root)).toEqual([repo.root]);
    // The task branches and the merged repair branch are gone; the moved one is still there.
    expect(await branches(repo.root)).toEqual(['agent/builder/d-repair', 'integration/g1', 'main']);
    expect(result.complete).toBe(false);
  });

  it("keeps an unmerged repair branch unless --force, then deletes it with its work under a ref; a failed task's repairs are kept with its reason", async () => {
    const repo = await newRepo();
    const c = await addTask(repo, { id: 'c' });
    const d = await addTask(repo, { id: 'd' });
    const e = await addTask(repo, { id: 'e' });
    await integrate(repo, [c, d]);
    // d merged on its own; a repair attempt of it (an interaction repair, say) did not land.
    const dRepair = await repairAttempt(repo, d, 'agent/builder/d-repair', 'repair-d-1');
    await writeFile(path.join(dRepair.worktree, 'combined.test.txt'), 'a test\n');
    await run(dRepair.worktree, ['add', '-A']);
    await run(dRepair.worktree, ['commit', '-q', '-m', 'test of the combination']);
    const dHead = await run(dRepair.worktree, ['rev-parse', 'HEAD']);
    await run(repo.root, ['worktree', 'remove', dRepair.worktree]);
    // e conflicted; its repair failed and is part of what explains the failure.
    const eRepair = await repairAttempt(repo, e, 'agent/builder/e-repair', 'repair-e-1');
    await run(repo.root, ['worktree', 'remove', eRepair.worktree]);
    const state = await writeState(repo, [c, d, e], {
      status: 'failed',
      integration: integrationResult(['c', 'd'], {
        conflicts: [{ taskId: 'e', files: ['shared.txt'], with: ['c'] }],
        dropped: [{ taskId: 'e', reason: 'merge conflict in shared.txt' }],
        repairs: [
          {
            ...record(
              'd',
              'failed',
              [
                {
                  attempt: 1,
                  branch: 'agent/builder/d-repair',
                  worktree: dRepair.worktree,
                  baseSha: dRepair.base,
                  headSha: dHead,
                },
              ],
              [],
            ),
            kind: 'interaction',
          },
          record(
            'e',
            'failed',
            [
              {
                attempt: 1,
                branch: 'agent/builder/e-repair',
                worktree: eRepair.worktree,
                baseSha: eRepair.base,
                headSha: eRepair.head,
              },
            ],
            [],
          ),
        ],
      }),
    });
    const clean = (force: boolean) =>
      cleanupExecution(state, {
        repoRoot: repo.root,
        executionDir: repo.executionDir,
        env: TEST_ENV,
        force,
      });

    const first = await clean(false);
    const branchItem = (items: CleanupItem[], id: string) =>
      repairItems(items, id).find((item) => item.kind === 'branch');
    expect(branchItem(first.items, 'd')).toMatchObject({
      action: 'kept',
      reason:
        'not merged into integration/g1 or main; kept so its commits are not lost (--force deletes it)',
    });
    expect(branchItem(first.items, 'e')).toMatchObject({
      action: 'kept',
      reason: 'merge conflict with c in shared.txt: kept for a manual merge',
    });
    expect(first.keptRefs).toEqual([]);
    expect(await branches(repo.root)).toContain('agent/builder/d-repair');

    const forced = await clean(true);
    const ref = `refs/parallel-executor/${repo.executionId}/d-repair/attempt-1`;
    expect(branchItem(forced.items, 'd')).toMatchObject({
      action: 'removed',
      reason: expect.stringMatching(
        new RegExp(
          `^not merged; deleted because of --force; its work is kept as ${ref} \\(was [0-9a-f]{7}\\)$`,
        ),
      ),
    });
    expect(forced.keptRefs).toContainEqual({
      taskId: 'd',
      ref,
      sha: dHead,
      why: 'clean: repair branch deleted unmerged',
    });
    expect(state.integration!.repairs![0]!.keptRefs).toEqual([ref]);
    expect(await run(repo.root, ['show', `${ref}:combined.test.txt`])).toBe('a test');
    expect(await branches(repo.root)).toEqual(['integration/g1', 'main']);
    expect(forced.errors).toBe(0);
  });

  it('removes the repairs of an integration resume set aside once their task is done, keeping their work under a ref', async () => {
    const repo = await newRepo();
    const c = await addTask(repo, { id: 'c' });
    const d = await addTask(repo, { id: 'd' });
    await integrate(repo, [c]);
    // The first integration: d conflicted, its repair failed; resume --retry-failed ran d again
    // and integrated both into integration/g1-2.
    const failed = await repairAttempt(repo, d, 'agent/builder/d-repair', 'repair-d-1');
    await writeFile(path.join(failed.worktree, 'attempt.txt'), 'the repair agent tried\n');
    await run(failed.worktree, ['add', '-A']);
    await run(failed.worktree, ['commit', '-q', '-m', 'repair attempt']);
    const failedHead = await run(failed.worktree, ['rev-parse', 'HEAD']);
    await run(repo.root, ['worktree', 'remove', failed.worktree]);
    const earlierTip = await run(repo.root, ['rev-parse', 'integration/g1']);
    await run(repo.root, ['branch', 'integration/g1-2', 'integration/g1']);
    await run(repo.root, ['switch', '-q', 'integration/g1-2']);
    await run(repo.root, ['merge', '-q', '--no-ff', '-m', 'Integrate d', d.branch]);
    await run(repo.root, ['switch', '-q', 'main']);
    const earlier = {
      ...integrationResult(['c'], {
        headSha: earlierTip,
        repairs: [
          record(
            'd',
            'failed',
            [
              {
                attempt: 1,
                branch: 'agent/builder/d-repair',
                worktree: failed.worktree,
                baseSha: failed.base,
                headSha: failedHead,
              },
            ],
            [],
          ),
        ],
      }),
      tip: earlierTip,
      reportSha: null,
    };
    const state = await writeState(repo, [c, d], {
      integration: integrationResult(['c', 'd'], { branch: 'integration/g1-2' }),
      earlier_integrations: [earlier],
    });

    const result = await cleanupExecution(state, {
      repoRoot: repo.root,
      executionDir: repo.executionDir,
      env: TEST_ENV,
    });

    expect(result.errors).toBe(0);
    const ref = `refs/parallel-executor/${repo.executionId}/d-repair/attempt-1`;
    expect(repairItems(result.items, 'd').find((item) => item.kind === 'branch')).toMatchObject({
      action: 'removed',
      reason: expect.stringMatching(
        /^a repair for integration\/g1, the integration resume set aside; not merged into integration\/g1-2 or main; its work is kept as \S+ \(was [0-9a-f]{7}\)$/,
      ),
    });
    expect(await run(repo.root, ['show', `${ref}:attempt.txt`])).toBe('the repair agent tried');
    expect(state.earlier_integrations![0]!.repairs![0]!.keptRefs).toEqual([ref]);
    // The set-aside integration goes too: c's commit, all it merged, is in integration/g1-2.
    expect(result.items.find((item) => item.integration === 'earlier')).toMatchObject({
      kind: 'branch',
      target: 'integration/g1',
      action: 'removed',
    });
    expect(await branches(repo.root)).toEqual(['integration/g1-2', 'main']);
    expect(result.complete).toBe(true);
  });
});
