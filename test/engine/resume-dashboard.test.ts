import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { createFinisher } from '../../src/engine/finish/finisher.js';
import { DEFAULT_FINISH_SETTINGS } from '../../src/engine/finish/settings.js';
import { renderDashboard } from '../../src/engine/monitor/dashboard.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, runPlan, task } from './helpers.js';
import { useRepoAndScratch } from './repo-fixture.js';

const fx = useRepoAndScratch();

describe('the live picture of a resume that runs tasks again', () => {
  // Seen with status from another terminal on a real project: while resume --retry-failed ran the
  // fixed task, the picture said "Integration: done after 1 test run · merged 2/2", the first
  // integration's last progress, though that integration was set aside and no new one had begun.
  it('shows no integration until the new one starts', async () => {
    const command =
      'if [ "$PE_TASK_ID" = b ] && [ ! -e "$FIXED" ]; then exit 5; fi; echo ok > "ok-$PE_TASK_ID"';
    const env = agentEnv({ FIXED: fx.box.file('fixed') });
    const finisher = () =>
      createFinisher({
        settings: { ...DEFAULT_FINISH_SETTINGS, report: { dir: 'reports', writeBack: 'none' } },
        env,
      });
    const first = await runPlan(fx.repo.dir, plan([task('a'), task('b')]), command, {
      env,
      hooks: finisher().hooks,
    });
    expect(first.state.integration?.merged).toEqual(['a']);
    expect(renderDashboard(first.state, { now: new Date(), width: 120 })).toContain(
      'Integration: ',
    );

    await writeFile(fx.box.file('fixed'), '');
    const seen: string[] = [];
    const second = await resumeExecution({
      cwd: fx.repo.dir,
      runner: createCommandRunner({ command, graceMs: 300 }),
      env,
      settings: FAST,
      retryFailed: true,
      hooks: finisher().hooks,
      onEvent: (_event, state) => {
        if (state.tasks['b']!.status === 'in_progress' && seen.length === 0) {
          seen.push(renderDashboard(state, { now: new Date(), width: 120 }));
        }
      },
    });
    expect(second.state.status).toBe('completed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toContain('Integration: ');
    expect(second.state.integration?.merged.sort()).toEqual(['a', 'b']);
  });
});
