import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandRunner, type CommandRunnerOptions } from '../../src/engine/agents/command.js';
import type { AgentHandle, AgentLaunch } from '../../src/engine/ports/agent-runner.js';
import { PreflightError } from '../../src/engine/errors.js';
import {
  descendants,
  groupVanishes,
  isGone,
  liveGroupMembers,
  makeSandbox,
  recordEvents,
} from '../support/agent-launch.js';

let sandbox: Awaited<ReturnType<typeof makeSandbox>>;
let handles: AgentHandle[] = [];
beforeEach(async () => {
  sandbox = await makeSandbox();
});
afterEach(async () => {
  // A failed assertion must not leave agents running on a shared machine.
  await Promise.all(handles.map((handle) => handle.stop('cancelled', 200)));
  handles = [];
  await sandbox.cleanup();
});

/** Starts an agent and remembers it for clean-up. */
async function start(options: CommandRunnerOptions, launch: AgentLaunch): Promise<AgentHandle> {
  const handle = await createCommandRunner(options).start(launch);
  handles.push(handle);
  return handle;
}

const VARIABLES = [
  'PE_EXECUTION_ID',
  'PE_TASK_ID',
  'PE_TASK_TITLE',
  'PE_AGENT',
  'PE_BRANCH',
  'PE_WORKTREE',
  'PE_CONTEXT_FILE',
  'PE_STATUS_FILE',
  'PE_PORT',
  'PE_LOG_FILE',
  'FROM_SHELL',
];

describe('command agent runner', () => {
  it('passes the task through PE_* variables verbatim, in the worktree, without executing a hostile title', async () => {
    const pwned = join(sandbox.root, 'pwned');
    const title = `$(touch ${pwned}) \`touch ${pwned}\` \${{ x }} "quoted" 'single' ; rm -rf / # \n second line ünïcødé`;
    // Each value NUL-terminated, so multi-line values survive the round trip.
    const command = `for v in ${VARIABLES.join(' ')}; do eval "printf '%s\\\\0' \\"\\$$v\\""; done > env.bin; pwd > pwd.txt`;
    const launch = sandbox.launch({
      taskTitle: title,
      env: { PATH: process.env['PATH'] ?? '', FROM_SHELL: 'yes' },
    });
    const handle = await start({ command }, launch);
    const outcome = await handle.done;

    expect(outcome.exitCode).toBe(0);
    const values = (await readFile(join(launch.worktree, 'env.bin'), 'utf8'))
      .split('\0')
      .slice(0, -1);
    expect(Object.fromEntries(VARIABLES.map((name, index) => [name, values[index]]))).toEqual({
      PE_EXECUTION_ID: 'exec-1',
      PE_TASK_ID: '1.1',
      PE_TASK_TITLE: title,
      PE_AGENT: 'Builder-1',
      PE_BRANCH: 'agent/builder-1/build-the-thing',
      PE_WORKTREE: launch.worktree,
      PE_CONTEXT_FILE: launch.contextFile,
      PE_STATUS_FILE: launch.statusFile,
      PE_PORT: '41000',
      PE_LOG_FILE: launch.logFile,
      FROM_SHELL: 'yes',
    });
    expect((await readFile(join(launch.worktree, 'pwd.txt'), 'utf8')).trim()).toBe(launch.worktree);
    expect(existsSync(pwned)).toBe(false);
  });

  it('turns status-file writes into progress and error events while the agent runs, tolerating partial JSON', async () => {
    const launch = sandbox.launch();
    // The second write waits until the first was seen: on a loaded machine a read 0.3 s late saw
    // only the last one (the test then waited for 40 until its timeout).
    const seen = join(sandbox.root, 'seen-40');
    const command = [
      `printf '{"progress_percent": 4' > "$PE_STATUS_FILE"`, // caught mid-write: ignored
      'sleep 0.3',
      `printf '{"progress_percent": 40, "current_step": "writing tests", "has_error": false}' > "$PE_STATUS_FILE"`,
      `while [ ! -e '${seen}' ]; do sleep 0.05; done`,
      // An atomic writer: temp file renamed over the status file.
      `printf '{"progress_percent": "75", "current_step": "lint", "has_error": true, "message": "lint failed"}' > "$PE_STATUS_FILE.tmp"`,
      `mv "$PE_STATUS_FILE.tmp" "$PE_STATUS_FILE"`,
      'echo written',
      'sleep 30',
    ].join('; ');
    const handle = await start({ command }, launch);
    const recorder = recordEvents(handle);

    const first = await recorder.waitFor((e) => e.type === 'progress' && e.percent === 40);
    await writeFile(seen, '');
    const error = await recorder.waitFor((e) => e.type === 'error');
    const written = await recorder.waitFor((e) => e.type === 'output' && e.line === 'written');
    const last = await recorder.waitFor((e) => e.type === 'progress' && e.percent === 75);
    // Well within a second of the write (the echo right after it), however loaded the machine.
    expect(last.at - written.at).toBeLessThan(1000);
    await handle.stop('cancelled', 1000);
    const outcome = await handle.done;
    await recorder.finished;

    expect(first.event).toEqual({ type: 'progress', percent: 40, step: 'writing tests' });
    expect(last.event).toEqual({ type: 'progress', percent: 75, step: 'lint' });
    expect(error.event).toEqual({ type: 'error', message: 'lint failed' });
    expect(recorder.events.filter((e) => e.event.type === 'progress')).toHaveLength(2);
    expect(outcome.agentError).toBe('lint failed');
  });

  it('never reports progress going back once the agent said 100%', async () => {
    const launch = sandbox.launch();
    const command = [
      `printf '{"progress_percent": 100, "current_step": "done"}' > "$PE_STATUS_FILE"`,
      'sleep 0.6',
      `printf '{"progress_percent": 40, "current_step": "late news"}' > "$PE_STATUS_FILE"`,
      'sleep 0.6',
    ].join('; ');
    const handle = await start({ command }, launch);
    const recorder = recordEvents(handle);
    await handle.done;
    await recorder.finished;

    const progress = recorder.events.flatMap((e) => (e.event.type === 'progress' ? [e.event] : []));
    expect(progress).toEqual([{ type: 'progress', percent: 100, step: 'done' }]);
  });

  it('stop() takes down the whole process tree: the shell and its grandchildren', async () => {
    const command = 'sleep 1000 & sleep 1000 & (sleep 1000; echo never) & echo ready; wait';
    const handle = await start({ command }, sandbox.launch());
    const recorder = recordEvents(handle);
    await recorder.waitFor((e) => e.type === 'output' && e.line === 'ready');
    expect((await liveGroupMembers(handle.pid)).length).toBeGreaterThanOrEqual(4);

    await handle.stop('timeout', 5000);
    const outcome = await handle.done;

    expect(await liveGroupMembers(handle.pid)).toEqual([]);
    expect(await groupVanishes(handle.pid)).toBe(true);
    expect(outcome).toMatchObject({ stoppedBecause: 'timeout', signal: 'SIGTERM', exitCode: null });
  });

  it('stop() also takes down descendants that started their own session (setsid), as Claude Code does for Bash', async () => {
    const command = 'setsid sleep 1000 & setsid sh -c "sleep 1001 & wait" & echo ready; wait';
    const handle = await start({ command }, sandbox.launch());
    const recorder = recordEvents(handle);
    await recorder.waitFor((e) => e.type === 'output' && e.line === 'ready');
    let escaped: Awaited<ReturnType<typeof descendants>> = [];
    for (
      let tries = 0;
      tries < 100 && escaped.filter((p) => p.args.startsWith('sleep')).length < 2;
      tries++
    ) {
      escaped = (await descendants(handle.pid)).filter((p) => p.pgid !== handle.pid);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(
      escaped
        .filter((p) => p.args.startsWith('sleep'))
        .map((p) => p.args)
        .sort(),
    ).toEqual(['sleep 1000', 'sleep 1001']);

    await handle.stop('timeout', 5000);

    for (const process of escaped) expect(await isGone(process.pid)).toBe(true);
    expect(await liveGroupMembers(handle.pid)).toEqual([]);
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace has passed', async () => {
    const command = `trap '' TERM; sleep 1000 & echo ready; wait`;
    const handle = await start({ command }, sandbox.launch());
    const recorder = recordEvents(handle);
    await recorder.waitFor((e) => e.type === 'output' && e.line === 'ready');

    const before = Date.now();
    await handle.stop('idle', 400);
    const outcome = await handle.done;

    expect(Date.now() - before).toBeGreaterThanOrEqual(400);
    expect(outcome).toMatchObject({ stoppedBecause: 'idle', signal: 'SIGKILL' });
    expect(await liveGroupMembers(handle.pid)).toEqual([]);
    expect(await groupVanishes(handle.pid)).toBe(true);
  });

  it('reports the exit code of a crashing command with its last lines, and logs everything raw', async () => {
    const launch = sandbox.launch();
    // The error right after the output. stdout and stderr are two pipes read in bursts, each on its
    // own (under load, seconds apart): the last lines keep each pipe's tail, the error's last.
    const command =
      'for i in 1 2 3 4 5 6; do echo "out $i"; done; echo "boom: cannot find module" >&2; exit 3';
    const handle = await start({ command, lastLines: 3 }, launch);
    const outcome = await handle.done;

    expect(outcome).toMatchObject({
      exitCode: 3,
      signal: null,
      stoppedBecause: null,
      agentError: null,
    });
    expect(outcome.lastLines).toEqual(['out 5', 'out 6', 'boom: cannot find module']);
    const log = await readFile(launch.logFile, 'utf8');
    expect(log).toContain('out 1\n');
    expect(log).toContain('boom: cannot find module\n');
  });

  it('keeps the error of a crash among its last lines while its output waits in a resting pipe', async () => {
    // "out 1" alone, then the pipe rests until the shared tick: the rest of stdout is still in it
    // when stderr's line has been read.
    const command =
      'echo "out 1"; sleep 0.05; for i in 2 3 4 5 6; do echo "out $i"; done; echo "boom" >&2; exit 3';
    const outcome = await (await start({ command, lastLines: 3 }, sandbox.launch())).done;
    expect(outcome.exitCode).toBe(3);
    expect(outcome.lastLines).toEqual(['out 5', 'out 6', 'boom']);
  });

  it('logs every byte of a steady stream of small writes and of dots without a newline, in order', async () => {
    // Numbered 1 KB lines, eight writes at a time with a short pause (a verbose test run), then
    // dots without a newline: the pipe is read in bursts for quiet agents and at once for busy
    // ones, and nothing may be lost or reordered either way.
    const command =
      "i=0; while [ $i -lt 400 ]; do for j in 1 2 3 4 5 6 7 8; do printf '%08d%1015s\\n' $((i*8+j)) x; done; sleep 0.002; i=$((i+1)); done; " +
      "for k in 1 2 3 4 5; do printf '.'; sleep 0.05; done; echo end";
    const launch = sandbox.launch();
    const handle = await start({ command }, launch);
    const outcome = await handle.done;
    expect(outcome.exitCode).toBe(0);
    const log = await readFile(launch.logFile, 'utf8');
    const lines = log.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3201);
    lines
      .slice(0, 3200)
      .forEach((line, i) => expect(line.slice(0, 8)).toBe(String(i + 1).padStart(8, '0')));
    expect(lines[3200]).toBe('.....end');
    expect(outcome.lastLines.at(-1)).toBe('.....end');
  });

  it('cleans up processes the agent left behind when it exits by itself', async () => {
    const handle = await start({ command: 'sleep 1000 & echo bye' }, sandbox.launch());
    const outcome = await handle.done;

    expect(outcome).toMatchObject({ exitCode: 0, stoppedBecause: null, lastLines: ['bye'] });
    expect(await liveGroupMembers(handle.pid)).toEqual([]);
  });

  it('stops the agent when the launch signal aborts', async () => {
    const controller = new AbortController();
    const handle = await start(
      { command: 'echo ready; sleep 1000' },
      sandbox.launch({ signal: controller.signal }),
    );
    const recorder = recordEvents(handle);
    await recorder.waitFor((e) => e.type === 'output' && e.line === 'ready');
    controller.abort();
    const outcome = await handle.done;

    expect(outcome.stoppedBecause).toBe('cancelled');
    expect(await liveGroupMembers(handle.pid)).toEqual([]);
    await recorder.finished;
    expect(recorder.events[0]?.event).toEqual({ type: 'started', pid: handle.pid });
  });

  it('refuses to start in a missing worktree with an error naming it', async () => {
    const launch = sandbox.launch({ worktree: join(sandbox.root, 'nowhere') });
    await expect(createCommandRunner({ command: 'true' }).start(launch)).rejects.toThrow(/nowhere/);
  });

  it('preflight refuses an empty command', async () => {
    await expect(createCommandRunner({ command: '  ' }).preflight()).rejects.toBeInstanceOf(
      PreflightError,
    );
    await expect(createCommandRunner({ command: 'true' }).preflight()).resolves.toBeUndefined();
  });
});
