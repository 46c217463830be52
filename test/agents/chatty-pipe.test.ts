import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { makeSandbox, recordEvents } from '../support/agent-launch.js';

/** The pipes' rests (a pause until the next 500 ms tick), counted; the ticker itself is real. */
const rests = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/engine/agents/ticker.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/engine/agents/ticker.js')>();
  return {
    ticker(periodMs: number) {
      const shared = real.ticker(periodMs);
      return {
        every: shared.every,
        once(work: () => void) {
          rests.count += 1;
          return shared.once(work);
        },
      };
    },
  };
});

let sandbox: Awaited<ReturnType<typeof makeSandbox>>;
beforeEach(async () => {
  sandbox = await makeSandbox();
  rests.count = 0;
});
afterEach(async () => {
  await sandbox.cleanup();
});

describe('an agent printing many short lines, one write each', () => {
  // Node gives a child a socket pair, not a pipe: it holds about 250 small writes (each costs a
  // buffer of its own, ~850 bytes of the 208 KB socket buffer), not 64 KB. An agent printing short
  // lines fast fills it in a few milliseconds and blocks; read once per 500 ms tick, it printed 500
  // lines a second (6000 lines: 12 s, 24 rests; unread, the loop takes 40 ms).
  it('is not held to one socketful per rest', async () => {
    const command = 'i=0; while [ $i -lt 6000 ]; do echo "line $i"; i=$((i+1)); done';
    const launch = sandbox.launch();
    const handle = await createCommandRunner({ command }).start(launch);
    const recorded = recordEvents(handle);
    const outcome = await handle.done;
    await recorded.finished;

    const expected = Array.from({ length: 6000 }, (_, i) => `line ${i}`);
    const lines = recorded.events.flatMap(({ event }) =>
      event.type === 'output' ? [event.line] : [],
    );
    expect(lines).toEqual(expected);
    expect(await readFile(launch.logFile, 'utf8')).toBe(`${expected.join('\n')}\n`);
    expect(outcome.exitCode).toBe(0);
    // The first reads rest (a quiet start looks like any quiet agent), then the pipe flows.
    expect(rests.count).toBeLessThanOrEqual(6);
  });

  it('nor is a progress bar redrawn with a carriage return at every step', async () => {
    const command = `i=0; while [ $i -lt 4000 ]; do printf '\\r%d of 4000' $i; i=$((i+1)); done; echo`;
    const { log, exitCode } = await printed(command);
    expect(log).toBe(`${Array.from({ length: 4000 }, (_, i) => `\r${i} of 4000`).join('')}\n`);
    expect(exitCode).toBe(0);
    expect(rests.count).toBeLessThanOrEqual(6);
  });

  it('nor are dots printed one write each (a test runner)', async () => {
    const { log, exitCode } = await printed(
      `i=0; while [ $i -lt 4000 ]; do printf .; i=$((i+1)); done; echo`,
    );
    expect(log).toBe(`${'.'.repeat(4000)}\n`);
    expect(exitCode).toBe(0);
    // Held to one socketful (about 250 writes) per rest, it took 16.
    expect(rests.count).toBeLessThanOrEqual(6);
  });

  it('an agent printing dots now and then still has its pipe rest between ticks', async () => {
    await printed('i=0; while [ $i -lt 8 ]; do printf .; sleep 0.1; i=$((i+1)); done; echo');
    expect(rests.count).toBeGreaterThanOrEqual(1);
    expect(rests.count).toBeLessThanOrEqual(5);
  });

  it('an agent printing a line now and then still has its pipe rest between ticks', async () => {
    await printed('i=0; while [ $i -lt 8 ]; do echo "line $i"; sleep 0.1; i=$((i+1)); done');
    // About one rest per tick while it prints (0.8 s), not one per line.
    expect(rests.count).toBeGreaterThanOrEqual(1);
    expect(rests.count).toBeLessThanOrEqual(5);
  });
});

/** A command agent run to its end: its log and exit code. */
async function printed(command: string): Promise<{ log: string; exitCode: number | null }> {
  const launch = sandbox.launch();
  const handle = await createCommandRunner({ command }).start(launch);
  const recorded = recordEvents(handle);
  const outcome = await handle.done;
  await recorded.finished;
  return { log: await readFile(launch.logFile, 'utf8'), exitCode: outcome.exitCode };
}
