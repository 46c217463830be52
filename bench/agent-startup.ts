/**
 * How long an agent takes to get going, per adapter, against baselines measured in the same run:
 *   - command adapter running `true`  vs  a bare `sh -c true` spawn (the adapter's own overhead:
 *     log file, status watcher, process-tree bookkeeping);
 *   - claude-code adapter, one scripted turn: time to the first model request (CLI start-up) and
 *     to `done`, against the command adapter's `true`.
 * Run: npx tsx bench/agent-startup.ts [runs]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClaudeCodeRunner } from '../src/engine/agents/claude-code.js';
import { createCommandRunner } from '../src/engine/agents/command.js';
import type { AgentLaunch, AgentRunner } from '../src/engine/ports/agent-runner.js';
import { startScriptedModel } from '../test/support/scripted-model.js';

const runs = Number(process.argv[2] ?? 5);
const root = await mkdtemp(join(tmpdir(), 'pe-bench-agents-'));
const worktree = join(root, 'worktree');
await mkdir(worktree);
await mkdir(join(root, 'home'));
await writeFile(join(worktree, 'AGENT_CONTEXT.md'), '# Task\n\nSay done.\n');

const launch = (env: Record<string, string>, attempt: number): AgentLaunch => ({
  executionId: 'bench',
  taskId: String(attempt),
  taskTitle: 'bench',
  agent: 'Bench',
  branch: 'bench',
  worktree,
  contextFile: join(worktree, 'AGENT_CONTEXT.md'),
  statusFile: join(root, 'status', `${attempt}.json`),
  logFile: join(root, 'logs', `${attempt}.log`),
  port: 43000,
  env: { PATH: process.env['PATH'] ?? '', HOME: join(root, 'home'), ...env },
});

async function timeAdapter(
  runner: AgentRunner,
  env: Record<string, string>,
  attempt: number,
): Promise<number> {
  const started = performance.now();
  const handle = await runner.start(launch(env, attempt));
  for await (const _event of handle.events) {
    // drain
  }
  await handle.done;
  return performance.now() - started;
}

async function timeBareSpawn(): Promise<number> {
  const started = performance.now();
  const child = spawn('/bin/sh', ['-c', 'true'], { cwd: worktree, stdio: 'ignore' });
  await once(child, 'exit');
  return performance.now() - started;
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

try {
  const bare: number[] = [];
  const command: number[] = [];
  const commandRunner = createCommandRunner({ command: 'true' });
  for (let run = 0; run < runs * 4; run++) {
    bare.push(await timeBareSpawn());
    command.push(await timeAdapter(commandRunner, {}, run));
  }

  const claudeTotal: number[] = [];
  const claudeFirstRequest: number[] = [];
  const claude = createClaudeCodeRunner({
    binary: resolve('node_modules/.bin/claude'),
    allowedTools: ['Read'],
  });
  for (let run = 0; run < runs; run++) {
    const model = await startScriptedModel([{ blocks: [{ type: 'text', text: 'done' }] }]);
    const started = Date.now();
    claudeTotal.push(
      await timeAdapter(
        claude,
        { ANTHROPIC_BASE_URL: model.url, ANTHROPIC_API_KEY: 'sk-bench' },
        1000 + run,
      ),
    );
    const first = model.requests.find((request) => request.path === '/v1/messages');
    if (first !== undefined) claudeFirstRequest.push(first.receivedAt - started);
    await model.close();
  }

  const ms = (value: number): string => `${value.toFixed(1)} ms`;
  console.log(`runs: ${runs * 4} (command), ${runs} (claude)`);
  console.log(`bare spawn sh -c true           median ${ms(median(bare))}`);
  console.log(
    `command adapter, true           median ${ms(median(command))}  ratio ${(median(command) / median(bare)).toFixed(2)}x bare spawn`,
  );
  console.log(`claude-code: to first request  median ${ms(median(claudeFirstRequest))}`);
  console.log(
    `claude-code: one turn, to done  median ${ms(median(claudeTotal))}  ratio ${(median(claudeTotal) / median(command)).toFixed(1)}x command adapter`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
