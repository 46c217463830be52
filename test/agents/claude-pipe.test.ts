import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useClaudeFixture } from '../support/claude-fixture.js';
import { recordEvents } from '../support/agent-launch.js';

const claude = useClaudeFixture();

describe('the real Claude Code CLI ending with a burst bigger than its socket buffer', () => {
  // The CLI writes its stdout through a non-blocking socket: what does not fit in the socket's
  // buffer (~210 KB) waits in the CLI's own queue, and its exit right after the `result` line drops
  // that queue. Its stdout was once left to rest up to 500 ms like any agent's: a final burst
  // bigger than the buffer (here the 110 KB text three times: delta, assistant message, result)
  // lost its tail, the assistant line cut and the result line missing, so no summary and no cost.
  // An interpreted stdout is now read as it comes.
  it('has its last lines read whole when its final burst is bigger than the socket buffer', async () => {
    const finalText = Array.from(
      { length: 2000 },
      (_, i) => `paragraph ${i} ${'z'.repeat(40)}`,
    ).join(' ');
    // A quiet first turn (a tool call, then a rest of the pipe), then the long answer at once.
    const script = await claude.startModel([
      {
        blocks: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: { command: 'sleep 0.6', description: 'wait' },
          },
        ],
        usage: { input_tokens: 100, output_tokens: 10 },
      },
      {
        blocks: [{ type: 'text', text: finalText }],
        usage: { input_tokens: 200, output_tokens: 20 },
      },
    ]);
    const env = claude.env(script.url);
    const dir = claude.repo.dir;
    const launch = {
      executionId: 'exec-1',
      taskId: '1.1',
      taskTitle: 'Answer at length',
      agent: 'Builder-1',
      branch: 'main',
      worktree: dir,
      contextFile: join(dir, 'AGENT_CONTEXT.md'),
      statusFile: join(claude.home, 'status.json'),
      logFile: join(claude.home, 'agent.log'),
      port: 42000,
      env,
    };
    await writeFile(launch.contextFile, '# Agent Context\nAnswer at length.\n');
    const handle = await claude.runner(env, ['Bash']).start(launch);
    const recorded = recordEvents(handle);
    const outcome = await handle.done;
    await recorded.finished;
    const lines = (await readFile(launch.logFile, 'utf8')).split('\n').filter(Boolean);
    const last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(outcome.exitCode).toBe(0);
    expect(last['type']).toBe('result');
    expect(outcome.summary).toBe(finalText);
    expect(outcome.costUsd).not.toBeNull();
    expect(script.surprises).toEqual([]);
  }, 60_000);
});
