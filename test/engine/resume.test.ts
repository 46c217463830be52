import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, runPlan, task } from './helpers.js';
import { useRepoAndScratch } from './repo-fixture.js';

const fx = useRepoAndScratch();

describe('resumeExecution', () => {
  it('runs failed tasks and their skipped dependents again on request, keeping completed ones', async () => {
    // a fails until the fix file exists; b depends on a; c is independent.
    const command =
      'echo "$PE_TASK_ID" >> "$RUNS"; if [ "$PE_TASK_ID" = a ] && [ ! -e "$FIXED" ]; then exit 5; fi; echo ok > "ok-$PE_TASK_ID"';
    const env = agentEnv({ RUNS: fx.box.file('runs'), FIXED: fx.box.file('fixed') });
    const first = await runPlan(
      fx.repo.dir,
      plan([task('a'), task('b', { dependsOn: ['a'] }), task('c')]),
      command,
      { env },
    );
    expect(first.state.status).toBe('failed');
    const cSha = await fx.repo.git(['rev-parse', first.state.tasks['c']!.branch]);

    const resume = (retryFailed: boolean) =>
      resumeExecution({
        cwd: fx.repo.dir,
        runner: createCommandRunner({ command, graceMs: 300 }),
        env,
        settings: FAST,
        retryFailed,
      });
    await expect(resume(false)).rejects.toThrow(/is failed: no task is left to run/);

    await writeFile(fx.box.file('fixed'), '');
    const second = await resume(true);
    expect(second.state.execution_id).toBe(first.state.execution_id);
    expect(second.state.status).toBe('completed');
    expect(second.state.tasks['a']!.attempts).toBe(2);
    expect(await fx.repo.git(['rev-parse', first.state.tasks['c']!.branch])).toBe(cSha);
    expect((await fx.box.read('runs')).trim().split('\n').sort()).toEqual(['a', 'a', 'b', 'c']);

    // Nothing left: resuming a completed execution changes nothing.
    const third = await resume(false);
    expect(third.state.finished_at).toBe(second.state.finished_at);
  });
});
