/**
 * Many tasks under a concurrency limit, agents that end (or fail) at once, slow checkouts: every
 * collection waits for the checkouts in line (mutex.afterCheckouts), and the run still finishes
 * with each task settled as its agent and its dependencies say.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { plan, runPlan, task } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, isolateGitConfig } from './collect-support.js';
import { withFakeGit } from './pool-support.js';

isolateGitConfig();

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

describe('36 tasks, 3 at a time, agents that end at once', () => {
  it('all settle: the work of each completed task is on its branch', async () => {
    repo = await createTempRepo({ files: { 'README.md': 'x\n' } });
    const ids = Array.from({ length: 36 }, (_, i) => String(i + 1));
    // Every fourth task builds on the one before; every ninth agent fails (a dependent of one is
    // skipped, not run).
    const tasks = ids.map((id) =>
      task(id, Number(id) % 4 === 0 ? { dependsOn: [String(Number(id) - 1)] } : {}),
    );
    const failing = (id: string) => Number(id) % 9 === 0;
    const command =
      'case "$PE_TASK_ID" in 9|18|27|36) exit 1 ;; esac; ' +
      `echo "$PE_TASK_ID" > "t-$PE_TASK_ID.txt" && git add . && ${AGENT_GIT} commit -qm "work of $PE_TASK_ID"`;
    // A checkout takes a while: agents end while others are still checked out.
    const recorded = await withFakeGit(
      'case " $* " in *" reset --quiet --hard "*) sleep 0.05 ;; esac',
      () => runPlan(repo!.dir, plan(tasks), command, { settings: { concurrency: 3, retries: 0 } }),
    );
    const statuses = Object.fromEntries(ids.map((id) => [id, recorded.state.tasks[id]!.status]));
    const expected = Object.fromEntries(
      ids.map((id) => {
        if (failing(id)) return [id, 'failed'];
        const dep = tasks.find((t) => t.id === id)!.dependsOn[0];
        return [id, dep !== undefined && failing(dep) ? 'skipped' : 'completed'];
      }),
    );
    expect(statuses).toEqual(expected);
    for (const id of ids.filter((id) => expected[id] === 'completed')) {
      const run = recorded.state.tasks[id]!;
      expect(await repo.git(['show', `${run.head_sha}:t-${id}.txt`])).toBe(id);
    }
  }, 30_000);
});
