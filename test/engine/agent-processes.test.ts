import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkInvariant, describe as describeReport, readLedger } from '../support/invariant.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import type { ExecutionEvent } from '../../src/engine/monitor/events.js';
import { reportLeftBehind } from '../../src/engine/run/processes.js';
import { resumeExecution } from '../../src/engine/run/resume.js';
import { agentEnv, FAST, plan, runPlan, scratch, task, type Scratch } from './helpers.js';

let repo: TempRepo;
let box: Scratch;
let marker: string;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': '# app\n' } });
  box = await scratch();
  marker = `pe-stray-${randomUUID()}`;
});

afterEach(async () => {
  // Whatever a failing test left behind must not outlive it.
  for (const pid of markedPids(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await repo.cleanup();
  await box.cleanup();
});

/** Pids of live processes whose environment holds PE_TEST_MARKER=<marker>: found on our own. */
function markedPids(value: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (environment.includes(`PE_TEST_MARKER=${value}`) && state !== 'Z') pids.push(+entry);
    } catch {
      // exited, or not ours
    }
  }
  return pids;
}

/** Commits one file (and says so in the ledger), then runs `tail`. */
function agent(tail: string): string {
  return (
    `export PE_TEST_MARKER=${marker}; ` +
    'echo "work of $PE_TASK_ID" > "out-$PE_TASK_ID.txt" && git add -A && git commit -qm "work $PE_TASK_ID" && ' +
    `printf '{"commit":"%s","task":"%s"}\\n' "$(git rev-parse HEAD)" "$PE_TASK_ID" >> "$LEDGER/$PE_TASK_ID.jsonl"; ` +
    tail
  );
}

describe.skipIf(process.platform !== 'linux')('processes an agent leaves running', () => {
  it('stops setsid, nohup-and-disown and double-forked processes with their task', async () => {
    const started = Date.now();
    const { state, events } = await runPlan(
      repo.dir,
      plan([task('1.1'), task('1.2'), task('1.3')]),
      agent(
        'case "$PE_TASK_ID" in ' +
          "1.1) setsid sh -c 'sleep 300' & ;; " +
          "1.2) bash -c 'nohup sleep 300 >/dev/null 2>&1 & disown' ;; " +
          "1.3) ( setsid sh -c 'sleep 300' >/dev/null 2>&1 & ) ;; " +
          // Time for them to leave the group before it is stopped with the agent.
          'esac; sleep 0.5; exit 0',
      ),
      { env: { PATH: process.env['PATH'] ?? '', HOME: box.dir, LEDGER: box.dir } },
    );

    expect(markedPids(marker)).toEqual([]);
    for (const id of ['1.1', '1.2', '1.3']) expect(state.tasks[id]!.status).toBe('completed');
    // Those that left the agent's process group were stopped with their own task (not left to a
    // sweep at the end), and the user is told; nohup alone stays in the group and goes with it.
    const notes = events.filter((e) => e.type === 'note' && e.message.includes('sleep 300'));
    expect(notes.map((e) => (e.type === 'note' ? e.taskId : null)).sort()).toEqual(['1.1', '1.3']);
    // The strays held the agents' pipes; stopping them lets the run end without waiting on them.
    expect(Date.now() - started).toBeLessThan(20_000);
    const report = await checkInvariant({
      repoRoot: repo.dir,
      state,
      ledger: await readLedger(box.dir),
    });
    expect(report.ok, describeReport(report)).toBe(true);
  });
});

describe.skipIf(process.platform !== 'linux')('processes of the execution at its end', () => {
  it('stops one started after its agent ended, at the end of the run', async () => {
    // A process of the task born once its agent was gone (here from the validation hook, as a
    // server a check started might be): only the sweep at the end can see it.
    const startStray = (worktree: string, executionId: string, tag: string): void => {
      spawn('sleep', ['300'], {
        detached: true,
        stdio: 'ignore',
        env: {
          ...agentEnv(),
          PE_EXECUTION_ID: executionId,
          PE_WORKTREE: worktree,
          PE_TEST_MARKER: tag,
        },
      }).unref();
    };
    // Another repository's execution can have the same id (ids are per repository): its
    // processes, in its own worktrees, are none of this run's business.
    const neighbour = `${marker}-neighbour`;
    const { state, events } = await runPlan(repo.dir, plan([task('1.1')]), 'true', {
      hooks: {
        onTaskCollected: (run, execution) => {
          startStray(run.worktree, execution.execution_id, marker);
          startStray('/elsewhere/worktree', execution.execution_id, neighbour);
          return Promise.resolve(null);
        },
      },
    });
    const neighbours = markedPids(neighbour);
    for (const pid of neighbours) process.kill(pid, 'SIGKILL');
    expect(neighbours).toHaveLength(1);
    expect(markedPids(marker)).toEqual([]);
    expect(state.tasks['1.1']!.status).toBe('completed');
    expect(events).toContainEqual({
      type: 'note',
      taskId: '1.1',
      message: expect.stringMatching(
        /^stopped 1 process\(es\) left running at the end of the run: pid \d+ \(sleep 300\)$/,
      ) as unknown,
    });
  });

  it('on resume, stops the orphans of the orchestrator that died before any agent starts again', async () => {
    const first = await runPlan(repo.dir, plan([task('1.1')]), 'exit 1');
    expect(first.state.tasks['1.1']!.status).toBe('failed');
    // What a killed orchestrator leaves: a process of the task, in a session of its own.
    const orphan = spawn('sleep', ['300'], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...agentEnv(),
        PE_EXECUTION_ID: first.state.execution_id,
        PE_TASK_ID: '1.1',
        PE_WORKTREE: first.state.tasks['1.1']!.worktree,
        PE_TEST_MARKER: marker,
      },
    });
    orphan.unref();
    expect(markedPids(marker)).toEqual([orphan.pid]);

    const events: ExecutionEvent[] = [];
    const result = await resumeExecution({
      cwd: repo.dir,
      executionId: first.state.execution_id,
      retryFailed: true,
      runner: createCommandRunner({
        command: `if kill -0 ${orphan.pid} 2>/dev/null; then echo "orphan alive" > "$OUT"; fi; echo ok > ok.txt`,
      }),
      env: agentEnv({ OUT: box.file('seen') }),
      settings: FAST,
      onEvent: (event) => events.push(event),
    });

    expect(markedPids(marker)).toEqual([]);
    expect(await box.read('seen')).toBe('');
    expect(result.state.tasks['1.1']!.status).toBe('completed');
    expect(events).toContainEqual({
      type: 'note',
      taskId: '1.1',
      message: `stopped 1 process(es) left running by the stopped orchestrator: pid ${orphan.pid} (sleep 300)`,
    });
  });
});

describe('a process that survived SIGKILL', () => {
  it('is a warning on its task, recorded in the state, with what to do', async () => {
    const { state } = await runPlan(repo.dir, plan([task('1.1')]), 'true');
    const events: ExecutionEvent[] = [];
    reportLeftBehind(
      state,
      (event) => events.push(event),
      '1.1',
      { stopped: [], running: ['pid 4242 (dev-server)'] },
      'after the agent ended',
    );
    const message =
      '1 process(es) left running after the agent ended could not be stopped, even with SIGKILL: pid 4242 (dev-server); end them yourself (kill -9 <pid>)';
    expect(state.tasks['1.1']!.warnings).toContain(message);
    expect(events).toEqual([{ type: 'warning', taskId: '1.1', message }]);
  });
});

describe('idle detection', () => {
  it('takes output without newlines (progress dots, \\r redraws) as life', async () => {
    const { state } = await runPlan(
      repo.dir,
      plan([task('1.1'), task('1.2')]),
      'case "$PE_TASK_ID" in ' +
        '1.1) for i in 1 2 3 4 5 6 7 8 9 10; do printf .; sleep 0.3; done ;; ' +
        "1.2) for i in 10 20 30 40 50 60 70 80 90 99; do printf '\\r%s%%' $i; sleep 0.3; done ;; " +
        'esac; echo > done.txt',
      { settings: { idleTimeoutMs: 1_200 } },
    );
    expect(state.tasks['1.1']!.reason).toBeNull();
    expect(state.tasks['1.1']!.status).toBe('completed');
    expect(state.tasks['1.2']!.reason).toBeNull();
    expect(state.tasks['1.2']!.status).toBe('completed');
  });

  it('takes a status file rewritten with the same content as life', async () => {
    const { state } = await runPlan(
      repo.dir,
      plan([task('1.1')]),
      'for i in 1 2 3 4 5 6 7 8 9 10; do ' +
        'echo \'{"progress_percent": 50}\' > "$PE_STATUS_FILE"; sleep 0.3; done; echo > done.txt',
      { settings: { idleTimeoutMs: 1_200 } },
    );
    expect(state.tasks['1.1']!.reason).toBeNull();
    expect(state.tasks['1.1']!.status).toBe('completed');
  });

  it('still stops an agent that prints nothing as hung', async () => {
    const { state } = await runPlan(repo.dir, plan([task('1.1')]), 'sleep 5; echo > done.txt', {
      settings: { idleTimeoutMs: 1_000 },
    });
    expect(state.tasks['1.1']!.status).toBe('failed');
    expect(state.tasks['1.1']!.reason).toMatch(/^hung: no output and no status change for/);
  });
});
