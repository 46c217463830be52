import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClaudeCodeRunner } from '../../src/engine/agents/claude-code.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import type { AgentEvent, AgentHandle, AgentLaunch } from '../../src/engine/ports/agent-runner.js';
import { descendants, isGone, recordEvents } from '../support/agent-launch.js';
import {
  startScriptedModel,
  type RecordedRequest,
  type ScriptedBlock,
  type ScriptedModel,
} from '../support/scripted-model.js';

/**
 * The real Claude Code CLI (node_modules/.bin/claude) against a scripted model on 127.0.0.1: the
 * agent really writes, edits and runs commands in a real git worktree; only the model is scripted.
 */
const CLAUDE = resolve('node_modules/.bin/claude');
const USAGE = { input_tokens: 1234, output_tokens: 56 };
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  PATH: process.env['PATH'] ?? '',
};

let root: string;
let model: ScriptedModel | null = null;
let handles: AgentHandle[] = [];
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pe-claude-'));
});
afterEach(async () => {
  // A failed assertion must not leave agents running on a shared machine.
  await Promise.all(handles.map((handle) => handle.stop('cancelled', 200)));
  handles = [];
  await model?.close();
  model = null;
  await rm(root, { recursive: true, force: true });
});

/** A real repository with one commit and a task worktree on its own branch, as the workspace step makes. */
async function makeWorktree(branch: string): Promise<string> {
  const repo = join(root, 'repo');
  const worktree = join(root, 'worktrees', 'task-1');
  await mkdir(repo);
  const options = { env: { ...GIT_ENV, HOME: root } };
  await git(repo, ['init', '-q', '-b', 'main'], options);
  await git(repo, ['config', 'commit.gpgsign', 'false'], options);
  await git(repo, ['config', 'gc.auto', '0'], options);
  await writeFile(join(repo, 'README.md'), '# demo\n');
  await git(repo, ['add', '-A'], options);
  await git(repo, ['commit', '-q', '-m', 'initial'], options);
  await git(repo, ['worktree', 'add', '-q', '-b', branch, worktree], options);
  return worktree;
}

async function launchFor(
  worktree: string,
  branch: string,
  context: string,
  baseUrl: string,
): Promise<AgentLaunch> {
  const execution = join(root, 'execution');
  const home = join(root, 'home');
  await mkdir(home, { recursive: true });
  const contextFile = join(worktree, 'AGENT_CONTEXT.md');
  await writeFile(contextFile, context);
  return {
    executionId: 'exec-claude',
    taskId: '2.1',
    taskTitle: 'Write the notes',
    agent: 'Builder-1',
    branch,
    worktree,
    contextFile,
    statusFile: join(execution, 'status', 'builder-1.json'),
    logFile: join(execution, 'logs', 'builder-1.log'),
    port: 42000,
    env: {
      PATH: process.env['PATH'] ?? '',
      // A private HOME keeps the CLI's session files out of the real one and is removed afterwards.
      HOME: home,
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: 'sk-test-scripted',
    },
  };
}

describe('claude-code agent runner with the real CLI', () => {
  it('writes, edits and runs commands in the worktree, reporting progress, usage and cost', async () => {
    const branch = 'agent/builder-1/write-the-notes';
    const worktree = await makeWorktree(branch);
    // The CLI's todo tool differs between versions (TodoWrite, or TaskCreate/TaskUpdate in 2.1.x); use whichever it offers.
    let list: 'tasks' | 'todowrite' | 'none' = 'none';
    const todo = (statuses: [string, string]): ScriptedBlock[] => {
      if (list === 'todowrite') {
        return [
          {
            type: 'tool_use',
            name: 'TodoWrite',
            input: {
              todos: [
                { content: 'Write notes', activeForm: 'Writing notes', status: statuses[0] },
                { content: 'Edit notes', activeForm: 'Editing notes', status: statuses[1] },
              ],
            },
          },
        ];
      }
      return [];
    };
    const update = (id: string, status: string): ScriptedBlock[] =>
      list === 'tasks'
        ? [{ type: 'tool_use', name: 'TaskUpdate', input: { taskId: id, status } }]
        : [];
    const path = (request: RecordedRequest, file: string): string =>
      join(request.workingDirectory ?? worktree, file);

    model = await startScriptedModel([
      (request) => {
        list = request.toolNames.includes('TaskCreate')
          ? 'tasks'
          : request.toolNames.includes('TodoWrite')
            ? 'todowrite'
            : 'none';
        const create: ScriptedBlock[] =
          list === 'tasks'
            ? [
                {
                  type: 'tool_use',
                  name: 'TaskCreate',
                  input: {
                    subject: 'Write notes',
                    description: 'Create notes.md',
                    activeForm: 'Writing notes',
                  },
                },
                {
                  type: 'tool_use',
                  name: 'TaskCreate',
                  input: {
                    subject: 'Edit notes',
                    description: 'Finish notes.md',
                    activeForm: 'Editing notes',
                  },
                },
              ]
            : todo(['pending', 'pending']);
        const look: ScriptedBlock[] =
          create.length > 0
            ? []
            : [
                {
                  type: 'tool_use',
                  name: 'Read',
                  input: { file_path: path(request, 'README.md') },
                },
              ];
        return {
          blocks: [{ type: 'text', text: 'I will write the notes first.' }, ...create, ...look],
          usage: USAGE,
        };
      },
      (request) => ({
        blocks: [
          ...update('1', 'in_progress'),
          ...todo(['in_progress', 'pending']),
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: path(request, 'notes.md'), content: '# Notes\n\nfirst draft\n' },
          },
        ],
        usage: USAGE,
      }),
      (request) => ({
        blocks: [
          ...update('1', 'completed'),
          ...update('2', 'in_progress'),
          ...todo(['completed', 'in_progress']),
          {
            type: 'tool_use',
            name: 'Edit',
            input: {
              file_path: path(request, 'notes.md'),
              old_string: 'first draft',
              new_string: 'final text',
            },
          },
        ],
        usage: USAGE,
      }),
      {
        blocks: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: {
              command: `printf 'task %s on %s\\n' "$PE_TASK_ID" "$PE_BRANCH" > bash-out.txt && printf '{"progress_percent": 80, "current_step": "checking the notes"}' > "$PE_STATUS_FILE"`,
              description: 'Record the task and report progress',
            },
          },
        ],
        usage: USAGE,
      },
      (request) => ({
        blocks: [
          { type: 'text', text: 'Checking.' },
          ...update('2', 'completed'),
          ...todo(['completed', 'completed']),
          { type: 'tool_use', name: 'Read', input: { file_path: path(request, 'notes.md') } },
        ],
        usage: USAGE,
      }),
      { blocks: [{ type: 'text', text: 'Wrote and edited notes.md.' }], usage: USAGE },
    ]);
    const launch = await launchFor(
      worktree,
      branch,
      '# Task 2.1: Write the notes\n\nCreate notes.md.\n',
      model.url,
    );
    const runner = createClaudeCodeRunner({
      binary: CLAUDE,
      allowedTools: ['Read', 'Write', 'Edit', 'Bash'],
    });
    const handle = await runner.start(launch);
    handles.push(handle);
    const recorder = recordEvents(handle);
    const outcome = await handle.done;
    await recorder.finished;
    const events = recorder.events.map((timed) => timed.event);

    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
    expect(outcome).toMatchObject({
      exitCode: 0,
      stoppedBecause: null,
      agentError: null,
      summary: 'Wrote and edited notes.md.',
    });
    expect(await readFile(join(worktree, 'notes.md'), 'utf8')).toBe('# Notes\n\nfinal text\n');
    expect(await readFile(join(worktree, 'bash-out.txt'), 'utf8')).toBe(`task 2.1 on ${branch}\n`);
    const status = await git(worktree, ['status', '--porcelain']);
    expect(status.stdout.split('\n').filter(Boolean).sort()).toEqual([
      '?? AGENT_CONTEXT.md',
      '?? bash-out.txt',
      '?? notes.md',
    ]);
    expect((await git(worktree, ['rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim()).toBe(branch);

    // The model saw the worktree as its working directory and the context bundle as its prompt.
    const calls = model.requests.filter((request) => request.path === '/v1/messages');
    expect(calls).toHaveLength(6);
    expect(calls[0]?.workingDirectory).toBe(worktree);
    // Claude Code offers its team tool by default; it fails outside a team, so it is never offered.
    expect(calls[0]?.toolNames).toContain('Bash');
    expect(calls[0]?.toolNames).not.toContain('SendMessage');
    expect(JSON.stringify(calls[0]?.body?.['messages'])).toContain('Create notes.md.');

    const progress = events.filter(
      (event): event is Extract<AgentEvent, { type: 'progress' }> => event.type === 'progress',
    );
    const steps = progress.map((event) => event.step);
    expect(steps).toContain('checking the notes'); // from the status file the agent wrote through Bash
    if (list === 'none') {
      // No todo list: the step is the last tool use, the percentage an estimate from turns.
      expect(steps).toContain('Edit notes.md');
    } else {
      // The agent's own list: the step is its in-progress item, the percentage its completed share.
      expect(progress).toContainEqual({ type: 'progress', percent: 0, step: 'Writing notes' });
      expect(progress).toContainEqual({ type: 'progress', percent: 50, step: 'Editing notes' });
    }
    expect(progress.slice(0, -1).every((event) => event.percent !== 100)).toBe(true);
    expect(progress.at(-1)).toEqual({ type: 'progress', percent: 100, step: 'done' });
    const outputs = events.flatMap((event) => (event.type === 'output' ? [event.line] : []));
    expect(outputs).toContain('→ Write notes.md');
    expect(outputs.some((line) => line.startsWith('→ Bash: printf'))).toBe(true);

    // Usage is summed over the six turns; the CLI prices it.
    expect(outcome.inputTokens).toBe(6 * USAGE.input_tokens);
    expect(outcome.outputTokens).toBe(6 * USAGE.output_tokens);
    expect(outcome.costUsd).toBeGreaterThan(0);
    expect(events.at(-1)?.type === 'error').toBe(false);
    expect(events).toContainEqual({
      type: 'usage',
      inputTokens: outcome.inputTokens,
      outputTokens: outcome.outputTokens,
      cacheReadTokens: outcome.cacheReadTokens,
      cacheCreationTokens: outcome.cacheCreationTokens,
      costUsd: outcome.costUsd,
    });
    expect(await readFile(launch.logFile, 'utf8')).toContain('"type":"result"');
  });

  it('reports a model error as a failure with the reason, and passes a very large prompt through stdin', async () => {
    const branch = 'agent/builder-1/failing';
    const worktree = await makeWorktree(branch);
    model = await startScriptedModel([
      {
        status: 400,
        errorType: 'invalid_request_error',
        message: 'scripted failure: the model is unavailable',
      },
    ]);
    // Above Linux's 128 KiB limit for one argv string.
    const context = `# Task\n\nMARKER-${'x'.repeat(150_000)}-END\n`;
    const launch = await launchFor(worktree, branch, context, model.url);
    const handle = await createClaudeCodeRunner({ binary: CLAUDE, allowedTools: ['Read'] }).start(
      launch,
    );
    handles.push(handle);
    const recorder = recordEvents(handle);
    const outcome = await handle.done;
    await recorder.finished;

    expect(outcome.exitCode).toBe(1);
    expect(outcome.agentError).toContain('scripted failure: the model is unavailable');
    expect(outcome.agentError).toContain('400');
    expect(recorder.events.map((timed) => timed.event)).toContainEqual({
      type: 'error',
      message: outcome.agentError,
    });
    expect(outcome.lastLines.some((line) => line.includes('scripted failure'))).toBe(true);
    const call = model.requests.find((request) => request.path === '/v1/messages');
    expect(JSON.stringify(call?.body?.['messages'])).toContain('-END');
  });

  it('stops at once on what no retry can fix: an unknown model, an exhausted credit', async () => {
    for (const [failure, reason, options] of [
      [
        { status: 404, errorType: 'not_found_error', message: 'model: claude-nope' },
        'the model claude-nope was not found (404)',
        { model: 'claude-nope' },
      ],
      [
        {
          status: 400,
          errorType: 'invalid_request_error',
          message: 'Your credit balance is too low to access the Anthropic API.',
        },
        'the credit balance is too low to call the API',
        {},
      ],
    ] as const) {
      const branch = `agent/builder-1/fatal-${failure.status}`;
      const worktree = await makeWorktree(branch);
      model = await startScriptedModel(Array.from({ length: 10 }, () => failure));
      const launch = await launchFor(worktree, branch, '# Task\n\nAnything.\n', model.url);
      const handle = await createClaudeCodeRunner({
        binary: CLAUDE,
        allowedTools: ['Read'],
        ...options,
      }).start(launch);
      handles.push(handle);
      const recorder = recordEvents(handle);
      const outcome = await handle.done;
      await recorder.finished;
      expect(recorder.events.map((timed) => timed.event)).toContainEqual({
        type: 'error',
        message: reason,
        fatal: true,
      });
      expect(outcome.agentError).toBe(reason);
      await model.close();
      model = null;
      await rm(join(root, 'repo'), { recursive: true, force: true });
      await rm(join(root, 'worktrees'), { recursive: true, force: true });
    }
  });

  it('stop() ends the agent and the commands its Bash tool runs in their own session', async () => {
    const branch = 'agent/builder-1/hanging';
    const worktree = await makeWorktree(branch);
    model = await startScriptedModel([
      {
        blocks: [
          { type: 'tool_use', name: 'Bash', input: { command: 'sleep 1000', description: 'Hang' } },
        ],
        usage: USAGE,
      },
    ]);
    const launch = await launchFor(worktree, branch, '# Task\n\nHang.\n', model.url);
    const handle = await createClaudeCodeRunner({ binary: CLAUDE, allowedTools: ['Bash'] }).start(
      launch,
    );
    handles.push(handle);
    const recorder = recordEvents(handle);
    await recorder.waitFor(
      (event) => event.type === 'output' && event.line === '→ Bash: sleep 1000',
    );
    let tree: Awaited<ReturnType<typeof descendants>> = [];
    for (let tries = 0; tries < 200 && !tree.some((p) => p.args === 'sleep 1000'); tries++) {
      tree = await descendants(handle.pid);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const sleeper = tree.find((p) => p.args === 'sleep 1000');
    expect(sleeper).toBeDefined();
    // What makes this hard: the CLI puts the command in a session of its own, outside the agent's group.
    expect(sleeper?.pgid).not.toBe(handle.pid);

    await handle.stop('idle', 3000);
    const outcome = await handle.done;

    expect(outcome.stoppedBecause).toBe('idle');
    expect(outcome.agentError).toBeNull();
    for (const process of [{ pid: handle.pid }, ...tree])
      expect(await isGone(process.pid)).toBe(true);
  });
});
