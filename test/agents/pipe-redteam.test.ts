import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import type { AgentHandle } from '../../src/engine/ports/agent-runner.js';
import { makeSandbox, recordEvents } from '../support/agent-launch.js';

/**
 * Messy output against the resting pipes (read in bursts, one read at most while paused, see
 * process.ts `pipeLines` and paused-pipe.ts): every byte reaches the log, every line the events.
 */
let sandbox: Awaited<ReturnType<typeof makeSandbox>>;
let handles: AgentHandle[] = [];
const daemons: number[] = [];
beforeEach(async () => {
  sandbox = await makeSandbox();
});
afterEach(async () => {
  await Promise.all(handles.map((handle) => handle.stop('cancelled', 200)));
  handles = [];
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await sandbox.cleanup();
});

async function run(command: string, signal?: AbortSignal) {
  const launch = sandbox.launch(signal === undefined ? {} : { signal });
  const handle = await createCommandRunner({ command }).start(launch);
  handles.push(handle);
  const recorded = recordEvents(handle);
  const started = Date.now();
  const outcome = await handle.done;
  const ms = Date.now() - started;
  await recorded.finished;
  const lines = recorded.events.flatMap(({ event }) =>
    event.type === 'output' ? [event.line] : [],
  );
  return { outcome, lines, log: await readFile(launch.logFile), ms };
}

const numbered = (count: number, prefix = ''): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('agent output through resting pipes', () => {
  it('a burst right before exiting: all of it in the log, the events and the last lines', async () => {
    const r = await run('seq 0 19999; exit 3');
    expect(r.log.toString()).toBe(`${numbered(20_000).join('\n')}\n`);
    expect(r.lines).toEqual(numbered(20_000));
    expect(r.outcome.lastLines.at(-1)).toBe('19999');
    expect(r.outcome.exitCode).toBe(3);
  });

  it('a last line without newline printed as it exits, after a pause of the pipe', async () => {
    const r = await run(
      'echo a; sleep 0.1; printf b; sleep 0.05; printf "c\\n"; printf "last words"; exit 1',
    );
    expect(r.log.toString()).toBe('a\nbc\nlast words');
    expect(r.outcome.lastLines).toEqual(['a', 'bc', 'last words']);
  });

  it('8 MB without a newline, then binary on both pipes: the log has every byte', async () => {
    const file = join(sandbox.root, 'binary');
    const data = Buffer.alloc(3_000_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 256;
    await writeFile(file, data);
    const size = 8 * 1024 * 1024;
    const r = await run(`head -c ${size} /dev/zero | tr '\\0' x; cat '${file}'; cat '${file}' >&2`);
    expect(r.log.length).toBe(size + 2 * data.length);
    expect(r.log.subarray(0, size).every((byte) => byte === 0x78)).toBe(true);
  });

  it('stdout and stderr interleaved, a line a write: every line of both, each pipe in order', async () => {
    const r = await run(
      'i=0; while [ $i -lt 3000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done',
    );
    expect(r.lines.filter((line) => line.startsWith('out'))).toEqual(numbered(3000, 'out '));
    expect(r.lines.filter((line) => line.startsWith('err'))).toEqual(numbered(3000, 'err '));
    const logged = r.log.toString().split('\n');
    expect(logged.filter((line) => line.startsWith('out'))).toEqual(numbered(3000, 'out '));
    expect(logged.filter((line) => line.startsWith('err'))).toEqual(numbered(3000, 'err '));
  });

  it('a 100 KB line: whole in the log, clipped in its event, the next line whole', async () => {
    const r = await run(`head -c 100000 /dev/zero | tr '\\0' y; echo; echo tail`);
    expect(r.log.toString()).toBe(`${'y'.repeat(100_000)}\ntail\n`);
    expect(r.lines).toHaveLength(2);
    expect(r.lines[0]!.length).toBeLessThanOrEqual(2000);
    expect(r.lines[1]).toBe('tail');
  });

  it('stdout closed early, the agent running on: its stderr still read, the run ends', async () => {
    const r = await run('echo before; exec 1>&-; sleep 1; echo "still here" >&2; exit 2');
    expect(r.log.toString()).toBe('before\nstill here\n');
    expect(r.outcome.lastLines).toEqual(['before', 'still here']);
    expect(r.outcome.exitCode).toBe(2);
  });

  it('a daemon without our variables flooding the inherited stdout: the run ends, the agent’s own output whole', async () => {
    const pidFile = join(sandbox.root, 'daemon.pid');
    const r = await run(
      `setsid env -i /bin/sh -c 'echo $$ > "${pidFile}"; while :; do echo dddddddddddddddddddd; done' & ` +
        'sleep 0.2; i=0; while [ $i -lt 500 ]; do echo "mine $i"; i=$((i+1)); done; exit 4',
    );
    daemons.push(Number(await readFile(pidFile, 'utf8')));
    const mine = r.log
      .toString()
      .split('\n')
      .filter((line) => line.startsWith('mine'));
    expect(mine).toEqual(numbered(500, 'mine '));
    expect(r.outcome.exitCode).toBe(4);
    // PIPE_DRAIN_MS (2 s) after the exit, not never.
    expect(r.ms).toBeLessThan(10_000);
  });

  it('cancelled while its pipe rests: stopped, what it printed logged', async () => {
    const controller = new AbortController();
    const marker = join(sandbox.root, 'printed');
    setTimeout(() => controller.abort(), 1200);
    const r = await run(
      `n=0; while :; do printf .; n=$((n+1)); echo $n > '${marker}'; sleep 0.05; done`,
      controller.signal,
    );
    expect(r.outcome.stoppedBecause).toBe('cancelled');
    const printed = Number(await readFile(marker, 'utf8'));
    // The last dot may be cut by the kill between printf and the marker; none before it.
    expect(r.log.length).toBeGreaterThanOrEqual(printed - 1);
    expect(r.log.toString()).toBe('.'.repeat(r.log.length));
  });
});
