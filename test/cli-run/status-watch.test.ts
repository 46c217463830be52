import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { plan, task } from '../engine/helpers.js';
import { useRepoAndScratch } from '../engine/repo-fixture.js';
import { CLI_PROCESS, cli, writePlanJson } from './helpers.js';
import { waitFor } from '../support/wait.js';

const fx = useRepoAndScratch({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

/** b waits for the test's go-ahead, so the watcher sees it running. */
const AGENT =
  'if [ "$PE_TASK_ID" = b ]; then while [ ! -e "$GATE" ]; do sleep 0.1; done; fi; ' +
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

async function stateOnDisk(): Promise<ExecutionState | null> {
  const dir = join(fx.repo.dir, '.parallel-executor', 'executions');
  const [id] = await readdir(dir).catch(() => [] as string[]);
  if (id === undefined) return null;
  const text = await readFile(join(dir, id, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8').catch(
    () => null,
  );
  try {
    return text === null ? null : (JSON.parse(text) as ExecutionState);
  } catch {
    return null;
  }
}

/** A run of a and b in another process, once b's agent is waiting for the gate. */
async function runWhileBWaits() {
  await writePlanJson(fx.repo.dir, plan([task('a'), task('b')]));
  const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], GATE: fx.box.file('gate') };
  const orchestrator = spawn(
    process.execPath,
    [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
    { cwd: fx.repo.dir, env, stdio: 'ignore' },
  );
  const exited = once(orchestrator, 'exit');
  await waitFor(async () => {
    const state = await stateOnDisk();
    return state?.tasks['b']?.status === 'in_progress' ? state : null;
  });
  return { env, exited, orchestrator };
}

describe('parallel-executor status --watch', () => {
  it('follows a run in another process until it ends, then says where it landed', async () => {
    const { env, exited } = await runWhileBWaits();

    const watching = cli(['status', '--watch'], fx.repo.dir, env);
    // Let the watcher draw the running state first, then let b finish.
    await new Promise((resolve) => setTimeout(resolve, 800));
    await writeFile(fx.box.file('gate'), '');
    const [result, [exitCode]] = await Promise.all([watching, exited]);
    expect(exitCode).toBe(0);
    expect(result.code).toBe(0);

    const final = (await stateOnDisk())!;
    expect(final.status).toBe('completed');
    const lines = result.stdout.trimEnd().split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const started = at(/ started exec_\S+: 2 task\(s\)$/);
    const running = at(/ b \(\S+\) in_progress/);
    const done = at(/ b \(\S+\) completed$/);
    const integrated = at(/ integration: done after 0 test runs · merged 2\/2$/);
    const finished = at(/ exec_\S+ completed: 2 completed, 0 failed of 2$/);
    expect(started).toBeGreaterThanOrEqual(0);
    expect(running).toBeGreaterThan(started);
    expect(done).toBeGreaterThan(running);
    expect(integrated).toBeGreaterThan(done);
    expect(finished).toBeGreaterThan(running);
    // It waited for the report: the orchestrator writes it after the final status.
    expect(lines).toContain(`Report: ${final.report_path}`);
    expect(lines.at(-1)).toMatch(/^State: .*PARALLEL_EXECUTION_STATUS\.json$/);
  });

  it('stops watching on Ctrl-C without a word about agents, and the run goes on', async () => {
    const { env, exited, orchestrator } = await runWhileBWaits();

    const watcher = spawn(process.execPath, [...CLI_PROCESS, 'status', '--watch'], {
      cwd: fx.repo.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    watcher.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    watcher.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const watcherExited = once(watcher, 'exit');
    await waitFor(async () => (/ b \(\S+\) in_progress/.test(stdout) ? true : null));
    watcher.kill('SIGINT');
    const [watcherCode] = (await watcherExited) as [number | null];
    expect(watcherCode).toBe(130);
    expect(stderr).not.toMatch(/stopping agents|SIGINT received/);

    // The run did not hear of it: b is still running, and it finishes when let go.
    expect(orchestrator.exitCode).toBeNull();
    expect((await stateOnDisk())!.tasks['b']!.status).toBe('in_progress');
    await writeFile(fx.box.file('gate'), '');
    const [exitCode] = await exited;
    expect(exitCode).toBe(0);
    expect((await stateOnDisk())!.status).toBe('completed');
  });
});
