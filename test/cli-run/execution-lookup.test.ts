import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { makeRepo, writeState, type TestRepo } from '../cleanup/repo.js';
import { cli } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((dispose) => dispose()));
});

async function repoWithExecution(): Promise<TestRepo> {
  const repo = await makeRepo();
  cleanups.push(repo.dispose);
  await writeState(repo, []);
  return repo;
}

/**
 * A pid that is a zombie: `sh` starts a child, then `exec`s into a process that never reaps it.
 * The child outlives the `exec` (a child that ended before it would be reaped by `sh` itself).
 */
async function zombiePid(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  cleanups.push(async () => {
    parent.kill('SIGKILL');
    if (parent.exitCode === null && parent.signalCode === null) await once(parent, 'exit');
  });
  const [chunk] = (await once(parent.stdout, 'data')) as [Buffer];
  const pid = Number(chunk.toString().trim());
  for (let i = 0; i < 250; i += 1) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return pid;
    await delay(20);
  }
  throw new Error(`process ${pid} did not become a zombie`);
}

describe('execution lookup, the same for every command', () => {
  it.each(['status', 'resume', 'clean'])(
    '%s answers an unknown id with exit 2 and the known ids',
    async (command) => {
      const repo = await repoWithExecution();
      const result = await cli([command, 'exec_nope'], repo.root);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('unknown execution "exec_nope"');
      expect(result.stderr).toContain(`hint: known executions: ${repo.executionId}`);
    },
  );

  it.each(['status', 'resume', 'clean'])('%s takes one execution id at most', async (command) => {
    const repo = await repoWithExecution();
    const result = await cli([command, repo.executionId, 'exec_other'], repo.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${command} takes one execution id, got 2`);
  });

  it.skipIf(process.platform !== 'linux')(
    'counts an orchestrator that is a zombie as gone, a live one as running',
    async () => {
      const repo = await repoWithExecution();
      const running = async (pid: number): Promise<unknown> => {
        await writeState(repo, [], {
          status: 'in_progress',
          finished_at: null,
          orchestrator_pid: pid,
        });
        const result = await cli(['status', '--json'], repo.root);
        expect(result.code).toBe(0);
        return (JSON.parse(result.stdout) as { running: unknown }).running;
      };
      expect(await running(process.pid)).toBe(true);
      expect(await running(await zombiePid())).toBe(false);
    },
  );
});
