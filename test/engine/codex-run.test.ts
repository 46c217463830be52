import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCodexRunner } from '../../src/engine/agents/codex.js';
import { pathExists } from '../../src/engine/path-exists.js';
import {
  codexProvider,
  startScriptedResponses,
  type ScriptedResponses,
} from '../support/scripted-responses.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, runPlan, task } from './helpers.js';

const CODEX = resolve(import.meta.dirname, '../../node_modules/.bin/codex');
const execute = promisify(execFile);

let repo: TempRepo;
let codexHome: string;
let model: ScriptedResponses | null = null;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': '# app\n' } });
  codexHome = await mkdtemp(join(tmpdir(), 'pe-codex-home-'));
});

afterEach(async () => {
  await model?.close();
  model = null;
  await repo.cleanup();
  await rm(codexHome, { recursive: true, force: true });
});

function environment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: codexHome,
    CODEX_HOME: codexHome,
    OPENAI_API_KEY: 'sk-test-scripted',
    ...extra,
  };
}

/** The scripted provider, and a sandbox without /tmp: only the worktree and the --add-dir folders are writable. */
function config(url: string) {
  return {
    ...codexProvider(url),
    'sandbox_workspace_write.exclude_slash_tmp': true,
    'sandbox_workspace_write.exclude_tmpdir_env_var': true,
  };
}

describe('an execution run by the real Codex CLI (scripted Responses API)', () => {
  it('lands the agent’s work, which the sandbox kept it from committing, with progress, usage and its summary', async () => {
    model = await startScriptedResponses([
      {
        output: [
          {
            type: 'plan',
            steps: [
              { step: 'Write the greeting', status: 'in_progress' },
              { step: 'Report', status: 'pending' },
            ],
          },
        ],
      },
      {
        output: [
          {
            type: 'exec',
            cmd: [
              'printf \'{"progress_percent": 60, "current_step": "status from the sandbox"}\' > "$PE_STATUS_FILE.tmp" && mv "$PE_STATUS_FILE.tmp" "$PE_STATUS_FILE"',
              'echo hi > "$PE_MESSAGES_DIR/sandbox-probe.txt"',
              // Outside the worktree and the --add-dir folders: the sandbox refuses it.
              'echo out > "$PE_WORKTREE/../escaped.txt"',
            ].join('; '),
          },
        ],
      },
      {
        output: [
          {
            type: 'apply_patch',
            patch: '*** Begin Patch\n*** Add File: hello.txt\n+hello from codex\n*** End Patch\n',
          },
        ],
      },
      {
        output: [
          {
            type: 'exec',
            cmd: 'git add -A && git commit -qm "agent commit"; echo "commit exit $?"',
          },
        ],
      },
      {
        output: [
          {
            type: 'plan',
            steps: [
              { step: 'Write the greeting', status: 'completed' },
              { step: 'Report', status: 'completed' },
            ],
          },
        ],
      },
      { output: [{ type: 'message', text: 'Done: hello.txt written.' }] },
    ]);
    const env = environment();
    const steps: string[] = [];
    const { state, executionDir } = await runPlan(
      repo.dir,
      plan([task('1.1', { title: 'Greet the user' })]),
      '',
      {
        runner: createCodexRunner({
          binary: CODEX,
          model: 'gpt-5.5',
          config: config(model.url),
          env,
          cwd: repo.dir,
          graceMs: 500,
        }),
        env,
        onEvent: (event) => {
          if (event.type === 'task-progress' && event.step) steps.push(event.step);
        },
      },
    );

    const run = state.tasks['1.1']!;
    expect(run.reason).toBeNull();
    expect(run.status).toBe('completed');
    expect(await repo.git(['show', `${run.branch}:hello.txt`])).toBe('hello from codex');

    const [first] = model.requests;
    expect(first!.cwd).toBe(run.worktree);
    expect(first!.authorization).toBe('Bearer sk-test-scripted');
    expect(first!.inputText).toContain('# Agent Context: Builder-1.1');
    expect(first!.inputText).toContain('Greet the user');
    expect(first!.inputText).toContain('Do not commit');
    expect(first!.toolNames).toEqual(
      expect.arrayContaining(['exec_command', 'apply_patch', 'update_plan']),
    );
    // The sandbox kept .git read-only; the tool committed the work instead. Found in whichever
    // request carried it back: Codex may repeat a request (a retry under load), which shifts them.
    const inputs = model.requests.map((request) => request.inputText);
    expect(inputs).toContainEqual(
      expect.stringMatching(/index\.lock': Read-only file system[\s\S]*commit exit 128/),
    );
    const commits = await repo.git(['log', '--format=%B%x00', `main..${run.branch}`]);
    expect(commits.split('\0').filter((c) => c.trim() !== '')).toHaveLength(1);
    expect(commits).toContain(
      'Work left uncommitted by agent Builder-1.1, committed by parallel-executor.',
    );

    // Progress from the todo list and from the status file the sandboxed command wrote (--add-dir).
    expect(steps).toContain('Write the greeting');
    expect(steps).toContain('status from the sandbox');
    expect(await readFile(join(executionDir, 'messages', 'sandbox-probe.txt'), 'utf8')).toBe(
      'hi\n',
    );
    expect(await pathExists(join(run.worktree, '..', 'escaped.txt'))).toBe(false);
    expect(inputs).toContainEqual(expect.stringMatching(/escaped\.txt: Read-only file system/));

    // Six replies of 1000 input (200 cached) and 50 output: uncached and cached apart.
    expect(model.served).toEqual({ input_tokens: 6000, cached_tokens: 1200, output_tokens: 300 });
    expect(run.metrics).toMatchObject({
      input_tokens: 4800,
      cache_read_tokens: 1200,
      output_tokens: 300,
      cost_usd: (4800 * 5 + 1200 * 0.5 + 300 * 30) / 1e6,
      files_changed: ['hello.txt'],
    });
    const summary = await readFile(join(run.output_dir, 'TASK_SUMMARY.md'), 'utf8');
    expect(summary).toContain('Done: hello.txt written.');
    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
  });

  it.each([
    {
      failure: { status: 401, message: 'Incorrect API key provided: sk-bad.', code: 'x' },
      reason:
        'the API key was refused (HTTP 401 Unauthorized): Incorrect API key provided: sk-bad.',
    },
    {
      failure: { failed: 'The model produced invalid content.' },
      reason: "the model's reply broke off: The model produced invalid content.",
    },
  ])('fails the task with a plain reason: $reason', async ({ failure, reason }) => {
    model = await startScriptedResponses([failure]);
    const env = environment();
    const runner = createCodexRunner({
      binary: CODEX,
      config: codexProvider(model.url),
      env,
      cwd: repo.dir,
    });
    const { state } = await runPlan(repo.dir, plan([task('1.1')]), '', { runner, env });
    const run = state.tasks['1.1']!;
    expect(run.status).toBe('failed');
    expect(run.reason).toContain(`it reported: ${reason}`);
    expect(run.reason).not.toContain('{"type"');
    // No retries were configured: one request, and the agent gave up at once.
    expect(model.requests).toHaveLength(1);
    expect(model.surprises).toEqual([]);
  });
});

describe('the codex pre-flight', () => {
  it('names what to set when Codex has no credentials, and accepts a stored login', async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOME: codexHome, CODEX_HOME: codexHome };
    const runner = createCodexRunner({ binary: CODEX, env, cwd: repo.dir });
    const refused = await runner.preflight().then(
      () => null,
      (error: unknown) => error as Error & { hint?: string },
    );
    expect(refused?.message).toContain(
      'Codex has no credentials: neither OPENAI_API_KEY nor CODEX_API_KEY is set',
    );
    expect(refused?.hint).toContain('Set OPENAI_API_KEY (or CODEX_API_KEY), or run `codex login`');

    await expect(
      createCodexRunner({
        binary: CODEX,
        env: { ...env, CODEX_API_KEY: 'sk-1' },
        cwd: repo.dir,
      }).preflight(),
    ).resolves.toBeUndefined();

    // `codex login --with-api-key` stores a key in CODEX_HOME: `codex login status` then succeeds.
    const login = execute(CODEX, ['login', '--with-api-key'], { env });
    login.child.stdin?.end('sk-stored\n');
    await login;
    await expect(runner.preflight()).resolves.toBeUndefined();
  });

  it('says where it looked when the binary is missing', async () => {
    const runner = createCodexRunner({
      env: { PATH: '/nonexistent', OPENAI_API_KEY: 'k' },
      cwd: '/',
    });
    await expect(runner.preflight()).rejects.toThrow(
      'the Codex CLI (`codex`) was not found on PATH or in node_modules/.bin',
    );
  });
});
