import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { PreflightError } from '../../src/engine/errors.js';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { pathExists } from '../../src/engine/path-exists.js';
import { executionsDir } from '../../src/engine/run/paths.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import {
  acquireRepoLock,
  processStartTime,
  repoLockFile,
} from '../../src/engine/workspace/repo-lock.js';
import { cli, writePlanJson } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { agentEnv, FAST, plan, runPlan, scratch, task, type Scratch } from './helpers.js';
import { waitFor } from '../support/wait.js';

/**
 * One repository, one run/resume/clean at a time: the second is refused before it checks,
 * creates or starts anything, and a holder that died does not block the next one.
 */

const BIN = resolve(import.meta.dirname, '../../src/cli/bin.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Logs each start; waits (up to 60 s) until $GO exists, so the run holds the repository. */
const AGENT =
  'echo "$PE_TASK_ID" >> "$RUNS"; ' +
  'i=0; while [ ! -e "$GO" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; ' +
  'echo "$PE_TASK_ID" > "out-$PE_TASK_ID.txt"';

let repo: TempRepo;
let box: Scratch;
let env: Record<string, string>;
beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  box = await scratch();
  env = agentEnv({ RUNS: box.file('runs'), GO: box.file('go') });
});
afterEach(async () => {
  await writeFile(box.file('go'), '');
  await repo.cleanup();
  await box.cleanup();
});

async function executions(): Promise<string[]> {
  return (await readdir(executionsDir(repo.dir)).catch(() => [] as string[])).sort();
}

async function latestState(): Promise<ExecutionState | null> {
  const [id] = (await executions()).slice(-1);
  if (id === undefined) return null;
  const text = await readFile(
    join(executionsDir(repo.dir), id, 'PARALLEL_EXECUTION_STATUS.json'),
    'utf8',
  ).catch(() => null);
  return text === null ? null : (JSON.parse(text) as ExecutionState);
}

const agentStarted = () =>
  waitFor(async () => {
    const state = await latestState();
    return state?.tasks['1']?.pid ? state : null;
  });

describe('the repository lock', () => {
  it('refuses a second run while one runs, naming it; no agent runs twice', async () => {
    const first = runPlan(repo.dir, plan([task('1')]), AGENT, { env });
    const running = await agentStarted();

    const second = runPlan(repo.dir, plan([task('1')]), AGENT, { env });
    const error = await second.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^cannot run: execution ${running.execution_id} is still running \\(orchestrator pid ${process.pid}\\): \`run\` since [0-9T:.Z-]+; nothing was started$`,
      ),
    );
    expect((error as PreflightError).hint).toMatch(/Ctrl-C in its terminal, or kill \d+/);
    // Refused before pre-flight created anything: no second execution folder.
    expect(await executions()).toEqual([running.execution_id]);

    // resume and clean are refused as well, while the run holds the repository.
    await expect(
      resumeExecution({
        cwd: repo.dir,
        runner: createCommandRunner({ command: AGENT, graceMs: 300 }),
        env,
        settings: FAST,
      }),
    ).rejects.toThrow(
      /cannot resume: execution .* is still running \(orchestrator pid \d+\): `run`/,
    );
    const clean = await cli(['clean', '--all-finished', '--force'], repo.dir);
    expect(clean.code).not.toBe(0);
    expect(clean.stderr).toContain(`cannot clean: execution ${running.execution_id}`);
    // Nothing of the running execution was touched.
    expect(await pathExists(running.tasks['1']!.worktree)).toBe(true);
    expect(await repo.git(['branch', '--list', running.tasks['1']!.branch])).not.toBe('');

    await writeFile(box.file('go'), '');
    const { state } = await first;
    expect(state.status).toBe('completed');
    expect((await readFile(box.file('runs'), 'utf8')).trim().split('\n')).toEqual(['1']);
    // Released: the next run goes.
    const next = await runPlan(repo.dir, plan([task('2')]), AGENT, { env });
    expect(next.state.status).toBe('completed');
  });

  it('is taken over from an orchestrator killed with SIGKILL', async () => {
    await writePlanJson(repo.dir, plan([task('1')]));
    const orchestrator = spawn(
      process.execPath,
      ['--import', TSX, BIN, 'run', '--plan', 'plan.json', '--agent-command', AGENT],
      { cwd: repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit');
    const running = await agentStarted();
    const lock = JSON.parse(await readFile(repoLockFile(repo.dir), 'utf8')) as {
      pid: number;
      executionId: string;
    };
    expect(lock).toMatchObject({ pid: orchestrator.pid, executionId: running.execution_id });
    orchestrator.kill('SIGKILL');
    await exited;
    try {
      // Its lock file is left behind, and names a dead process.
      expect(isProcessAlive(lock.pid)).toBe(false);
      const next = await runPlan(repo.dir, plan([task('2')]), 'echo two > two.txt', { env });
      expect(next.state.status).toBe('completed');
    } finally {
      process.kill(-running.tasks['1']!.pid!, 'SIGKILL');
    }
  });

  it('is taken over when its pid now belongs to another process', async () => {
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await waitFor(async () => processStartTime(stranger.pid!) !== null);
      const held = await acquireRepoLock(repo.dir, {
        command: 'run',
        executionId: 'exec_old',
        pid: stranger.pid!,
      });
      // The same pid, but the process that took the lock started at another time.
      const record = JSON.parse(await readFile(held.file, 'utf8')) as Record<string, unknown>;
      await writeFile(held.file, JSON.stringify({ ...record, startTime: '1' }));
      const mine = await acquireRepoLock(repo.dir, {
        command: 'run',
        executionId: null,
        pid: process.pid,
      });
      expect(JSON.parse(await readFile(mine.file, 'utf8'))).toMatchObject({ pid: process.pid });
      await mine.release();
      await held.release(); // not its lock any more: leaves nothing behind, throws nothing
      await expect(readFile(mine.file)).rejects.toThrow(/ENOENT/);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('is not taken over from another host, and says how to remove it', async () => {
    const held = await acquireRepoLock(repo.dir, { command: 'run', executionId: 'x', pid: 1 });
    const record = JSON.parse(await readFile(held.file, 'utf8')) as Record<string, unknown>;
    await writeFile(held.file, JSON.stringify({ ...record, host: 'elsewhere', pid: 999_999 }));
    const error = await acquireRepoLock(repo.dir, {
      command: 'clean',
      executionId: null,
      pid: process.pid,
    }).then(
      () => null,
      (e: unknown) => e as PreflightError,
    );
    expect(error?.message).toMatch(/orchestrator pid 999999 on elsewhere/);
    expect(error?.hint).toContain(`remove ${held.file}`);
  });

  it('lets exactly one of many simultaneous takers win', async () => {
    const takers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        acquireRepoLock(repo.dir, { command: 'run', executionId: `e${i}`, pid: process.pid }),
      ),
    );
    expect(takers.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
  });
});
