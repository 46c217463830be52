import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveAgentBinary } from '../../src/engine/agents/agent-binary.js';
import { hasClaudeCredentials } from '../../src/engine/agents/claude-binary.js';
import {
  buildClaudePrompt,
  claudeArguments,
  createClaudeCodeRunner,
} from '../../src/engine/agents/claude-code.js';
import { PreflightError } from '../../src/engine/errors.js';
import { makeSandbox } from '../support/agent-launch.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pe-claude-bin-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function executable(path: string, mode = 0o755): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, '#!/bin/sh\nexit 0\n');
  await chmod(path, mode);
  return path;
}

describe('claude binary resolution', () => {
  it('prefers PATH, in order, then node_modules/.bin of the cwd', async () => {
    const first = await executable(join(root, 'a', 'claude'));
    await executable(join(root, 'b', 'claude'));
    const local = await executable(join(root, 'repo', 'node_modules', '.bin', 'claude'));
    const cwd = join(root, 'repo');
    expect(
      await resolveAgentBinary({
        name: 'claude',
        path: `${join(root, 'none')}:${join(root, 'a')}:${join(root, 'b')}`,
        cwd,
      }),
    ).toBe(first);
    expect(await resolveAgentBinary({ name: 'claude', path: join(root, 'none'), cwd })).toBe(local);
    expect(await resolveAgentBinary({ name: 'claude', path: '', cwd: root })).toBeNull();
  });

  it('skips files that are not executable, and directories', async () => {
    await executable(join(root, 'a', 'claude'), 0o644);
    await mkdir(join(root, 'b', 'claude'), { recursive: true });
    const good = await executable(join(root, 'c', 'claude'));
    expect(
      await resolveAgentBinary({
        name: 'claude',
        path: ['a', 'b', 'c'].map((dir) => join(root, dir)).join(':'),
        cwd: root,
      }),
    ).toBe(good);
  });

  it('takes a configured binary as a path (relative to cwd) or a name on PATH, without falling back', async () => {
    const custom = await executable(join(root, 'tools', 'my-claude'));
    expect(
      await resolveAgentBinary({ name: 'claude', binary: 'tools/my-claude', path: '', cwd: root }),
    ).toBe(custom);
    expect(
      await resolveAgentBinary({
        name: 'claude',
        binary: 'my-claude',
        path: join(root, 'tools'),
        cwd: '/',
      }),
    ).toBe(custom);
    await executable(join(root, 'node_modules', '.bin', 'claude'));
    expect(
      await resolveAgentBinary({ name: 'claude', binary: 'tools/missing', path: '', cwd: root }),
    ).toBeNull();
  });
});

describe('claude credentials', () => {
  it('accepts a key, a token, a base URL, or a stored login', async () => {
    expect(await hasClaudeCredentials({ HOME: root })).toBe(false);
    expect(await hasClaudeCredentials({ HOME: root, ANTHROPIC_API_KEY: 'sk' })).toBe(true);
    expect(await hasClaudeCredentials({ HOME: root, ANTHROPIC_API_KEY: '  ' })).toBe(false);
    expect(await hasClaudeCredentials({ HOME: root, ANTHROPIC_AUTH_TOKEN: 't' })).toBe(true);
    expect(
      await hasClaudeCredentials({ HOME: root, ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' }),
    ).toBe(true);
    await mkdir(join(root, '.claude'));
    await writeFile(join(root, '.claude', '.credentials.json'), '{}');
    expect(await hasClaudeCredentials({ HOME: root })).toBe(true);
  });
});

describe('claude-code preflight', () => {
  it('says how to install Claude Code, or to use --agent-command, when the binary is missing', async () => {
    const runner = createClaudeCodeRunner({
      allowedTools: ['Read'],
      env: { PATH: join(root, 'none'), ANTHROPIC_API_KEY: 'sk' },
      cwd: root,
    });
    const error = await runner.preflight().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as PreflightError).message).toContain('Claude Code CLI');
    expect((error as PreflightError).hint).toContain('npm i -g @anthropic-ai/claude-code');
    expect((error as PreflightError).hint).toContain('--agent-command');
  });

  it('says how to configure a key when there is none', async () => {
    await executable(join(root, 'bin', 'claude'));
    const runner = createClaudeCodeRunner({
      allowedTools: ['Read'],
      env: { PATH: join(root, 'bin'), HOME: root },
      cwd: root,
    });
    const error = await runner.preflight().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as PreflightError).message).toContain('ANTHROPIC_API_KEY');
    expect((error as PreflightError).hint).toContain('--agent-command');
  });

  it('passes with the binary and a key', async () => {
    await executable(join(root, 'bin', 'claude'));
    const runner = createClaudeCodeRunner({
      allowedTools: ['Read'],
      env: { PATH: join(root, 'bin'), ANTHROPIC_API_KEY: 'sk' },
      cwd: root,
    });
    await expect(runner.preflight()).resolves.toBeUndefined();
  });
});

describe('claude command line', () => {
  it('puts allowed tools as separate arguments and ends options before the prompt', () => {
    expect(
      claudeArguments({
        allowedTools: ['Read', 'Bash(npm test:*)'],
        model: 'claude-sonnet-4-5',
        extraArgs: ['--max-turns', '40'],
      }),
    ).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      '--model',
      'claude-sonnet-4-5',
      '--max-turns',
      '40',
      // Always: the team tool fails outside a Claude Code team.
      '--disallowedTools',
      'SendMessage',
      '--allowedTools',
      'Read',
      'Bash(npm test:*)',
      '--',
    ]);
  });

  it('passes the prompt on stdin, never on the command line every user can read', async () => {
    const sandbox = await makeSandbox();
    try {
      const launch = sandbox.launch();
      await writeFile(launch.contextFile, '# Task 1.1\n\nSECRET-PLAN-TEXT\n');
      // A stand-in for the CLI that records what it was given, and what `ps` would show.
      const seen = join(sandbox.root, 'seen');
      const binary = join(sandbox.root, 'bin', 'claude');
      await mkdir(join(sandbox.root, 'bin'));
      await writeFile(
        binary,
        `#!/bin/sh\ncat /proc/$$/cmdline | tr '\\0' ' ' > "${seen}.argv"\ncat > "${seen}.stdin"\nexit 0\n`,
      );
      await chmod(binary, 0o755);
      const handle = await createClaudeCodeRunner({ binary, allowedTools: ['Read'] }).start(launch);
      await handle.done;
      expect(await readFile(`${seen}.stdin`, 'utf8')).toContain('SECRET-PLAN-TEXT');
      const argv = await readFile(`${seen}.argv`, 'utf8');
      expect(argv).toContain('--allowedTools');
      expect(argv).not.toContain('SECRET-PLAN-TEXT');
    } finally {
      await sandbox.cleanup();
    }
  });

  it('frames the context bundle without altering it', () => {
    const context = '# Task 1.1: `$(rm -rf /)`\n\n- do it\n';
    const prompt = buildClaudePrompt(
      {
        executionId: 'e',
        taskId: '1.1',
        taskTitle: 't',
        agent: 'Builder-1',
        branch: 'agent/builder-1/x',
        worktree: '/w',
        contextFile: '/w/AGENT_CONTEXT.md',
        statusFile: '/s',
        logFile: '/l',
        port: 1,
        env: {},
      },
      context,
    );
    expect(prompt).toContain(context.trim());
    expect(prompt.startsWith('You are agent Builder-1')).toBe(true);
  });
});
