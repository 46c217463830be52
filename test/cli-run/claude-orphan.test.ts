import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionState } from '../../src/engine/state/schema.js';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import { plan, task } from '../engine/helpers.js';
import { CLAUDE } from '../support/claude-cli.js';
import { useClaudeFixture } from '../support/claude-fixture.js';
import type { RecordedRequest, ScriptedReply } from '../support/scripted-model.js';
import { waitFor } from '../support/wait.js';
import { CLI_PROCESS, cli, writePlanJson } from './helpers.js';

/**
 * The real Claude Code CLI under `parallel-executor run`, the orchestrator killed with SIGKILL
 * while the agent works: the agent lives on (it is in a session of its own), and `resume` stops it.
 */
const claude = useClaudeFixture({ '.gitignore': 'plan.json\n', 'README.md': 'x\n' });

async function readState(dir: string): Promise<ExecutionState | null> {
  const executions = join(dir, '.parallel-executor', 'executions');
  const [id] = await readdir(executions).catch(() => [] as string[]);
  if (id === undefined) return null;
  const text = await readFile(join(executions, id, 'PARALLEL_EXECUTION_STATUS.json'), 'utf8');
  return JSON.parse(text) as ExecutionState;
}

describe('resume after the orchestrator was killed while Claude Code worked', () => {
  it('stops the agent it left running without letting it ask the model another turn, then runs the unfinished task again', async () => {
    // The user's own SessionEnd hook: on SIGTERM the CLI runs it before it exits, and its loop
    // went on meanwhile (29 turns, each a file written in the worktree resume then collected).
    await mkdir(join(claude.home, '.claude'), { recursive: true });
    await writeFile(
      join(claude.home, '.claude', 'settings.json'),
      JSON.stringify({
        hooks: { SessionEnd: [{ hooks: [{ type: 'command', command: 'sleep 4' }] }] },
      }),
    );
    let turn = 0;
    let orphanGone = false;
    const model = await claude.startModel(
      Array.from({ length: 30 }, () => (request: RecordedRequest): ScriptedReply => {
        turn += 1;
        if (turn === 1) {
          const command = 'echo a > a.txt && touch working && sleep 30';
          return {
            blocks: [{ type: 'tool_use', name: 'Bash', input: { command } }],
            usage: { input_tokens: 1000, output_tokens: 40 },
          };
        }
        // The agent run again once the orphan is gone: it does the work and ends.
        if (orphanGone && turn === 2) {
          const command = 'echo a > a.txt && git add a.txt && git commit -q -m a';
          return { blocks: [{ type: 'tool_use', name: 'Bash', input: { command } }] };
        }
        if (orphanGone) return { blocks: [{ type: 'text', text: 'Done.' }] };
        const file = join(request.workingDirectory ?? '', `after-${turn}.txt`);
        return {
          blocks: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content: 'x\n' } }],
        };
      }),
    );
    await writePlanJson(claude.repo.dir, plan([task('1.1')]));
    const env = { ...claude.env(model.url), PATH: `${dirname(CLAUDE)}:${process.env['PATH']}` };
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent', 'claude-code'],
      { cwd: claude.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit');
    const running = await waitFor(async () => {
      const state = await readState(claude.repo.dir).catch(() => null);
      const run = state?.tasks['1.1'];
      return run?.pid != null && existsSync(join(run.worktree, 'working')) ? run : null;
    });
    // What the state says of the tokens when the orchestrator dies is what the report will say
    // of them: the whole first message, its output count (the stream's last event) included.
    const usage = async () => (await readState(claude.repo.dir))?.tasks['1.1']?.usage;
    await waitFor(async () => (await usage())?.output_tokens === 40, 3_000).catch(() => false);
    expect(await usage()).toMatchObject({ input_tokens: 1000, output_tokens: 40 });
    orchestrator.kill('SIGKILL');
    await exited;
    expect(isProcessAlive(running.pid!)).toBe(true);

    // When the orphan is gone, as seen from here while resume runs.
    const watch = setInterval(() => {
      if (!orphanGone && !isProcessAlive(running.pid!)) orphanGone = true;
    }, 5);
    const resumed = await cli(['resume'], claude.repo.dir, env).finally(() => clearInterval(watch));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(isProcessAlive(running.pid!)).toBe(false);
    // The orphan asked nothing more: every request after the first is the new attempt's.
    const calls = model.requests.filter((request) => request.path === '/v1/messages');
    expect(calls).toHaveLength(3);
    expect(turn).toBe(3);
    expect(resumed.stdout + resumed.stderr).toContain(
      'resume: the agent was still running when the orchestrator stopped, stopped now by this resume, so its work is not taken as done: it runs again',
    );
    const state = (await readState(claude.repo.dir))!;
    expect(state.tasks['1.1']!.status).toBe('completed');
    expect(state.tasks['1.1']!.usage).toMatchObject(model.billed());
    expect(state.integration?.merged).toEqual(['1.1']);
    // What the new attempt did, and nothing the orphan could have done after the orchestrator died.
    const merged = state.integration!.branch;
    expect(await claude.repo.git(['show', `${merged}:a.txt`])).toBe('a');
    const files = await claude.repo.git(['ls-tree', '-r', '--name-only', merged]);
    expect(files.split('\n').filter((file) => file.startsWith('after-'))).toEqual([]);
  }, 60_000);

  it('counts the turns the agent took after the orchestrator died, read from its session', async () => {
    const model = await claude.startModel([
      {
        blocks: [
          { type: 'tool_use', name: 'Bash', input: { command: 'touch working && sleep 3' } },
        ],
        usage: { input_tokens: 1000, output_tokens: 40 },
      },
      (request) => ({
        blocks: [
          {
            type: 'tool_use',
            name: 'Write',
            input: {
              file_path: join(request.workingDirectory ?? '', 'late.txt'),
              content: 'late\n',
            },
          },
        ],
        usage: { input_tokens: 2000, output_tokens: 50 },
      }),
      {
        blocks: [{ type: 'text', text: 'Done.' }],
        usage: { input_tokens: 3000, output_tokens: 5 },
      },
    ]);
    await writePlanJson(claude.repo.dir, plan([task('1.1')]));
    const env = { ...claude.env(model.url), PATH: `${dirname(CLAUDE)}:${process.env['PATH']}` };
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent', 'claude-code'],
      { cwd: claude.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit');
    const running = await waitFor(async () => {
      const state = await readState(claude.repo.dir).catch(() => null);
      const run = state?.tasks['1.1'];
      return run?.pid != null && existsSync(join(run.worktree, 'working')) ? run : null;
    });
    // The first reply as the state has it (written within 250 ms of the event): what the
    // orchestrator read before it died.
    await waitFor(async () => {
      const usage = (await readState(claude.repo.dir))?.tasks['1.1']?.usage;
      return usage?.output_tokens === 40;
    }, 3_000);
    orchestrator.kill('SIGKILL');
    await exited;
    // The agent finishes on its own, with nobody reading what it prints.
    await waitFor(async () => !isProcessAlive(running.pid!), 20_000);
    expect(model.unusedTurns()).toBe(0);

    const resumed = await cli(['resume'], claude.repo.dir, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const state = (await readState(claude.repo.dir))!;
    const run = state.tasks['1.1']!;
    expect(run.status).toBe('completed');
    expect(await claude.repo.git(['show', `${state.integration!.branch}:late.txt`])).toBe('late');
    expect(run.usage).toMatchObject({ ...model.billed(), cost_usd: null });
    expect(resumed.stdout + resumed.stderr).toContain(
      'the agent went on after the orchestrator stopped: 2 more model replies (5000 input, 55 output',
    );
  }, 60_000);

  it('after Ctrl-C twice, resume runs the stopped agent again on top of its commit: its work is not called done', async () => {
    // A short grace for resume's stop of what the agent left (a command that ignores SIGTERM).
    await mkdir(join(claude.repo.dir, '.github'));
    await writeFile(
      join(claude.repo.dir, '.github', 'parallel-executor.yml'),
      'timeouts: { grace: 1s }\n',
    );
    await claude.repo.git(['add', '-A']);
    await claude.repo.git(['commit', '-qm', 'config']);
    let resumed = false;
    const model = await claude.startModel(
      Array.from({ length: 4 }, () => (): ScriptedReply => {
        if (resumed) return { blocks: [{ type: 'text', text: 'Finished the rest.' }] };
        // Half the work committed, then a command that outlives the agent's stop for a while:
        // the orchestrator is still stopping it when the second Ctrl-C comes.
        const command =
          'echo half > half.txt && git add -A && git -c user.name=A -c user.email=a@a.invalid commit -qm half && ' +
          `setsid sh -c "trap '' TERM INT; sleep 60"`;
        return { blocks: [{ type: 'tool_use', name: 'Bash', input: { command } }] };
      }),
    );
    await writePlanJson(claude.repo.dir, plan([task('1.1')]));
    const env = { ...claude.env(model.url), PATH: `${dirname(CLAUDE)}:${process.env['PATH']}` };
    const orchestrator = spawn(
      process.execPath,
      [...CLI_PROCESS, 'run', '--plan', 'plan.json', '--agent', 'claude-code'],
      { cwd: claude.repo.dir, env, stdio: 'ignore' },
    );
    const exited = once(orchestrator, 'exit') as Promise<[number | null, string | null]>;
    await waitFor(async () => {
      const state = await readState(claude.repo.dir).catch(() => null);
      const run = state?.tasks['1.1'];
      if (run?.pid == null) return false;
      const log = await claude.repo.git(['log', '--format=%s', '-1', run.branch]).catch(() => '');
      return log === 'half';
    });
    orchestrator.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    orchestrator.kill('SIGINT');
    expect((await exited)[0]).toBe(130);
    const stopped = (await readState(claude.repo.dir))!;
    // Ended before the agent was gone; the user's stop is recorded all the same.
    expect(stopped.tasks['1.1']).toMatchObject({
      status: 'in_progress',
      reason: 'stopped by the user; resume with `parallel-executor resume`',
    });

    resumed = true;
    const result = await cli(['resume'], claude.repo.dir, env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(
      /stopped before it finished \(Ctrl-C\).*runs again on top of the 1 commit\(s\) it made/,
    );
    expect(model.unusedTurns()).toBe(2);
    const done = (await readState(claude.repo.dir))!;
    expect(done.tasks['1.1']!.status).toBe('completed');
    expect(await claude.repo.git(['show', `${done.integration!.branch}:half.txt`])).toBe('half');
  }, 60_000);
});
