/**
 * Cancel (the abort signal, as Ctrl-C gives it) while an ended agent's collection waits for
 * another task's checkout: the run stops, the ended agent's work is not lost, and resume finishes
 * the rest without running that agent again.
 */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, runPlan, scratch, task, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, isolateGitConfig } from './collect-support.js';
import { holdCheckout, withFakeGit } from './pool-support.js';

isolateGitConfig();

let repo: TempRepo | undefined;
let box: Scratch | undefined;
afterEach(async () => {
  if (box !== undefined) await writeFile(box.file('go'), '').catch(() => undefined);
  await repo?.cleanup();
  await box?.cleanup();
  repo = box = undefined;
});

describe('cancel while a collection waits for a checkout', () => {
  it('stops the run; the ended agent’s work is kept and resume does not run it again', async () => {
    repo = await createTempRepo({ files: { 'README.md': 'x\n' } });
    box = await scratch();
    const marks = box.dir;
    // b's checkout is held until $GO: a's agent ends while it is, so a's collection waits.
    const hold = holdCheckout('slow-checkout', `${marks}/b-started`, `${marks}/go`);
    const command =
      'echo "$PE_TASK_ID" >> "$RUNS"; ' +
      'if [ "$PE_TASK_ID" = a ]; then while [ ! -e "$MARKS/b-started" ]; do sleep 0.05; done; fi; ' +
      `echo "$PE_TASK_ID" > "t-$PE_TASK_ID.txt" && git add . && ${AGENT_GIT} commit -qm "work of $PE_TASK_ID" && ` +
      'echo left > "left-$PE_TASK_ID.txt"';
    const env = agentEnv({ RUNS: box.file('runs'), MARKS: marks });
    const abort = new AbortController();
    const thePlan = plan([task('a'), task('b', { title: 'Slow checkout' })]);
    const first = await withFakeGit(hold, () =>
      runPlan(repo!.dir, thePlan, command, {
        env,
        signal: abort.signal,
        onEvent: (event) => {
          if (event.type !== 'task-status' || event.taskId !== 'a') return;
          if (event.status !== 'collecting') return;
          // Ctrl-C, then the held checkout goes on (as a slow disk would).
          abort.abort('SIGINT');
          void writeFile(`${marks}/go`, '');
        },
      }),
    );
    expect(first.state.status).toBe('cancelled');
    expect(first.state.tasks['b']!.status).toBe('cancelled');
    const a = first.state.tasks['a']!;
    // Its agent had ended: its work is collected all the same.
    expect(a.status).toBe('completed');
    expect(await repo.git(['show', `${a.branch}:left-a.txt`])).toBe('left');

    const second = await resumeExecution({
      cwd: repo.dir,
      runner: createCommandRunner({ command, graceMs: 300 }),
      env,
      settings: FAST,
    });
    expect(second.state.status).toBe('completed');
    const runs = (await box.read('runs')).trim().split('\n').sort();
    expect(runs).toEqual(['a', 'b']);
    for (const id of ['a', 'b']) {
      const run = second.state.tasks[id]!;
      expect(run.status).toBe('completed');
      expect(await repo.git(['show', `${run.branch}:t-${id}.txt`])).toBe(id);
      expect(await repo.git(['show', `${run.branch}:left-${id}.txt`])).toBe('left');
    }
  }, 30_000);
});
