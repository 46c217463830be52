import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { CLI_PROCESS, cli, writePlanJson } from './helpers.js';
import { waitFor } from '../support/wait.js';

const fx = useRepoAndScratch({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

/** Every agent start is logged; b hangs until the test says the orchestrator was resumed. */
const AGENT =
  'echo "$PE_TASK_ID $$" >> "$RUNS"; ' +
  'if [ "$PE_TASK_ID" = b ] && [ ! -e "$RESUMED" ]; then sleep 60; fi; ' +
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

/** What the agents read: where to log their runs, and the mark that says resume has begun. */
function agentEnv() {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    RUNS: fx.box.file('runs'),
    RESUMED: fx.box.file('resumed'),
  };
}

async function readStateFile(): Promise<ExecutionState | null> {
  const dir = join(fx.repo.dir, '.parallel-executor', 'executions');
  const { readdir } = await import('node:fs/promises');
  const [id] = await readdir(dir).catch(() => [] as string[]);
  if (id === undefined) return null;
  const text = await readFile(join(dir, id, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8').catch(
    () => null,
  );
  return text === null ? null : (JSON.parse(text) as ExecutionState);
}

describe('parallel-executor resume', () => {
  it('continues after the orchestrator was killed with SIGKILL: done work kept, running work restarted', async () => {
    await writePlanJson(
      fx.repo.dir,
      plan([task('a'), task('b'), task('c', { dependsOn: ['a', 'b'] }), task('d')]),
    );
    const env = agentEnv();
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
      { cwd: fx.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit');
    const before = await waitFor(async () => {
      const state = await readStateFile();
      const ready =
        state?.tasks['a']?.status === 'completed' &&
        state.tasks['d']?.status === 'completed' &&
        state.tasks['b']?.status === 'in_progress' &&
        state.tasks['b'].pid !== null;
      return ready ? state : null;
    });
    orchestrator.kill('SIGKILL');
    await exited;
    const orphan = before.tasks['b']!.pid!;
    // The dead orchestrator's agent is still running: resume must end it.
    expect(isProcessAlive(orphan)).toBe(true);
    const aSha = await fx.repo.git(['rev-parse', before.tasks['a']!.branch]);

    await writeFile(fx.box.file('resumed'), '');
    const result = await cli(['resume', '--json'], fx.repo.dir, env);
    expect(result.code).toBe(0);
    expect(isProcessAlive(orphan)).toBe(false);
    const doc = JSON.parse(result.stdout) as {
      status: string;
      executionId: string;
      integration: { branch: string; merged: string[] };
    };
    expect(doc).toMatchObject({ status: 'completed', executionId: before.execution_id });
    // Resume finishes too: everything merged, then the task branches were cleaned up.
    expect(doc.integration.merged).toEqual(['a', 'b', 'c', 'd']);
    const integration = doc.integration.branch;

    const runs = (await readFile(fx.box.file('runs'), 'utf8')).trim().split('\n');
    const count = (id: string) => runs.filter((line) => line.startsWith(`${id} `)).length;
    expect({ a: count('a'), b: count('b'), c: count('c'), d: count('d') }).toEqual({
      a: 1,
      b: 2,
      c: 1,
      d: 1,
    });
    // Completed work was not redone: a's commit from before the kill is what was integrated.
    await fx.repo.git(['merge-base', '--is-ancestor', aSha, integration]);
    const after = (await readStateFile())!;
    expect(after.tasks['b']).toMatchObject({ status: 'completed', attempts: 2 });
    expect(await fx.repo.git(['show', `${integration}:out-a.txt`])).toBe('a');
    expect(await fx.repo.git(['show', `${integration}:out-b.txt`])).toBe('b');
    expect(await fx.repo.git(['branch', '--list', before.tasks['a']!.branch])).toBe('');
  });

  it('says an execution that had finished has nothing to resume before showing its summary', async () => {
    await writePlanJson(fx.repo.dir, plan([task('a')]));
    await writeFile(fx.box.file('resumed'), '');
    const env = agentEnv();
    const ran = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', AGENT],
      fx.repo.dir,
      env,
    );
    expect(ran.code).toBe(0);
    const resumed = await cli(['resume'], fx.repo.dir, env);
    expect(resumed.code).toBe(0);
    // "Execution …: SUCCESS in 1.2s" alone read as what this resume did; no agent ran again.
    const id = (await readStateFile())!.execution_id;
    expect(resumed.stdout).toMatch(
      new RegExp(
        `^Execution ${id} had finished, every task integrated: nothing to resume\\. Its summary:\\n`,
      ),
    );
    expect(resumed.stdout).toContain(`Execution ${id}: SUCCESS`);
    expect((await readFile(fx.box.file('runs'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it('refuses to resume a live execution; after Ctrl-C (SIGINT) it resumes', async () => {
    await writePlanJson(fx.repo.dir, plan([task('b')]));
    const env = agentEnv();
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
      { cwd: fx.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit') as Promise<[number | null, string | null]>;
    const running = await waitFor(async () => {
      const state = await readStateFile();
      return state?.tasks['b']?.pid ? state : null;
    });
    const refused = await cli(['resume'], fx.repo.dir, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is still running \(orchestrator pid \d+\)/);

    orchestrator.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(130); // Ctrl-C, after the state was saved
    const stopped = (await readStateFile())!;
    expect(stopped.status).toBe('cancelled');
    expect(stopped.tasks['b']).toMatchObject({ status: 'cancelled', pid: null });
    expect(isProcessAlive(running.tasks['b']!.pid!)).toBe(false);

    await writeFile(fx.box.file('resumed'), '');
    const resumed = await cli(['resume', stopped.execution_id], fx.repo.dir, env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(': SUCCESS');
  });

  it('after Ctrl-C, an agent stopped half way runs again on top of its commits: its work is not called done', async () => {
    await writePlanJson(fx.repo.dir, plan([task('b')]));
    const env = agentEnv();
    // First run: commits half the work, leaves a file uncommitted, then is stopped while it
    // works. Run again: it finds its commit in the worktree and finishes.
    const halfWay =
      'echo "$PE_TASK_ID $$" >> "$RUNS"; ' +
      'if [ ! -e "$RESUMED" ]; then echo half > half.txt && git add half.txt && ' +
      'git -c user.name=A -c user.email=a@a.invalid -c commit.gpgsign=false commit -qm half && ' +
      'echo draft > draft.txt && sleep 60; ' +
      'else test -e half.txt && echo found-half > rest.txt; fi';
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', halfWay],
      { cwd: fx.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit') as Promise<[number | null, string | null]>;
    await waitFor(async () => {
      const state = await readStateFile();
      const b = state?.tasks['b'];
      if (b?.pid == null) return null;
      return (await readFile(join(b.worktree, 'draft.txt'), 'utf8').catch(() => null))
        ? state
        : null;
    });
    orchestrator.kill('SIGINT');
    expect((await exited)[0]).toBe(130);
    const stopped = (await readStateFile())!;
    expect(stopped.tasks['b']!.status).toBe('cancelled');

    await writeFile(fx.box.file('resumed'), '');
    const resumed = await cli(['resume', stopped.execution_id], fx.repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout + resumed.stderr).toMatch(
      /stopped before it finished \(Ctrl-C\).*runs again on top of the 1 commit\(s\) it made/,
    );
    // The agent ran twice, the second time on top of its first commit.
    const runs = (await readFile(fx.box.file('runs'), 'utf8')).trim().split('\n');
    expect(runs.map((line) => line.split(' ')[0])).toEqual(['b', 'b']);
    const done = (await readStateFile())!;
    const b = done.tasks['b']!;
    expect(b.status).toBe('completed');
    // Integrated (its merged branch deleted after): both runs' work.
    const merged = done.integration!.branch;
    expect(await fx.repo.git(['show', `${merged}:half.txt`])).toBe('half');
    expect(await fx.repo.git(['show', `${merged}:rest.txt`])).toBe('found-half');
    // What it left uncommitted when stopped is kept under the ref the message names.
    const ref = b.kept_refs?.find((entry) => entry.ref.endsWith('/b/attempt-1'))?.ref;
    expect(ref).toBeDefined();
    expect(await fx.repo.git(['show', `${ref}:draft.txt`])).toBe('draft');
  });
});
