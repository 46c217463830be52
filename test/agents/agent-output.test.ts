import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommandRunner } from '../../src/engine/agents/command.js';
import { createLineSplitter } from '../../src/engine/agents/line-splitter.js';
import { plainText } from '../../src/engine/terminal-text.js';
import { makeSandbox, recordEvents } from '../support/agent-launch.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, runPlan, task } from '../engine/helpers.js';

let sandbox: Awaited<ReturnType<typeof makeSandbox>>;
beforeEach(async () => {
  sandbox = await makeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

const MB = 1024 * 1024;

describe('a very long output line', () => {
  it('costs a bounded amount of memory; the log still has it whole', async () => {
    const size = 200_000_000;
    const command = `head -c ${size} /dev/zero | tr '\\0' a; echo; echo after`;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const launch = sandbox.launch();
    const handle = await createCommandRunner({ command }).start(launch);
    const recorded = recordEvents(handle);
    const outcome = await handle.done;
    await recorded.finished;
    clearInterval(sampler);

    // It was ~800 MB with the whole line kept and the log buffered in memory.
    expect((peak - before) / MB).toBeLessThan(150);
    expect((await stat(launch.logFile)).size).toBe(size + '\nafter\n'.length);
    const lines = recorded.events.flatMap(({ event }) =>
      event.type === 'output' ? [event.line] : [],
    );
    expect(lines).toHaveLength(2);
    expect(lines[0]!.length).toBeLessThanOrEqual(2000);
    expect(lines[1]).toBe('after');
    expect(outcome.exitCode).toBe(0);
  });

  it('is cut at the limit, up to its newline, and the next line is whole', () => {
    const lines: string[] = [];
    const splitter = createLineSplitter((line) => lines.push(line), { maxLineBytes: 10 });
    splitter.write(Buffer.from('0123456789abc'));
    splitter.write(Buffer.from('def\nshort\r\nü'));
    // A character split across chunks is whole again.
    splitter.write(Buffer.from([0xc3]));
    splitter.write(Buffer.from([0xbc, 0x0a]));
    splitter.write(Buffer.from('tail'));
    splitter.flush();
    expect(lines).toEqual(['0123456789…', 'short', 'üü', 'tail']);
  });
});

describe('terminal codes in agent output', () => {
  it('are stripped from what the user is shown: output, failure line, step', () => {
    expect(plainText('\u001b[31mFAILED\u001b[0m tests')).toBe('FAILED tests');
    expect(plainText('\u001b]0;window title\u0007done')).toBe('done');
    expect(plainText('\u001b[2K\r 10%\r 50%\r100%')).toBe('100%');
    expect(plainText('bell\u0007 and \u009b31mC1\u009b0m')).toBe('bell and C1');
    expect(plainText('two\nlines\ttab')).toBe('two\nlines\ttab');
  });

  it('never reach the failure reason, the output events or the current step', async () => {
    const repo: TempRepo = await createTempRepo({ files: { 'README.md': '# app\n' } });
    try {
      const { state, events } = await runPlan(
        repo.dir,
        plan([task('1.1')]),
        `printf '{"current_step": "\\\\u001b[1mbuilding\\\\u001b[0m"}' > "$PE_STATUS_FILE"; sleep 0.7; ` +
          "printf '\\033[32mcompiling\\033[0m\\n\\033]0;pwned title\\007\\033[2J\\033[Hprogress 10%%\\rprogress 100%%\\n'; " +
          "printf '\\033[31mError: it broke\\033[0m\\n' >&2; exit 3",
      );
      const run = state.tasks['1.1']!;
      expect(run.status).toBe('failed');
      expect(run.reason).toBe(
        'agent exited with code 3; last output: compiling | progress 100% | Error: it broke',
      );
      const shown = events.flatMap((event) =>
        event.type === 'task-output'
          ? [event.line]
          : event.type === 'task-progress'
            ? [event.step ?? '']
            : [],
      );
      expect(shown).toContain('building');
      // eslint-disable-next-line no-control-regex
      expect(shown.join('\n')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    } finally {
      await repo.cleanup();
    }
  });
});
