import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRunner } from '../../src/engine/agents/create-runner.js';
import { Config } from '../../src/engine/config/schema.js';
import type { AgentOutcome } from '../../src/engine/ports/agent-runner.js';
import { agentOptionsFromConfig } from '../../src/engine/run/config-settings.js';
import { makeSandbox, recordEvents } from '../support/agent-launch.js';
import {
  startScriptedModel,
  type RecordedRequest,
  type ScriptedModel,
} from '../support/scripted-model.js';

/**
 * Each Claude Code setting of `agent:` in .github/parallel-executor.yml reaches the real `claude`
 * binary: seen in what it sends the scripted model (model, system prompt, tools), in what it does
 * (the environment its Bash tool sees, the turn limit), in its own `init` report (permission mode,
 * MCP servers), and in the argv and environment a recording wrapper logs before it execs the
 * real binary.
 */
const CLAUDE = resolve('node_modules/.bin/claude');
const APPENDED = 'APPENDED-PROMPT-7f3a: always answer in haiku.';

type Sandbox = Awaited<ReturnType<typeof makeSandbox>>;
let sandbox: Sandbox;
let model: ScriptedModel;
let request: RecordedRequest;
let outcome: AgentOutcome;
let argv: string[];
let env: Map<string, string>;
let init: Record<string, unknown>;

/** A script that logs its argv and environment (NUL-separated), then execs the real binary. */
async function recordingClaude(dir: string): Promise<string> {
  const wrapper = join(dir, 'claude-recorder.sh');
  await writeFile(
    wrapper,
    [
      '#!/bin/sh',
      `printf '%s\\0' "$@" > '${dir}/argv'`,
      `env -0 > '${dir}/env'`,
      `exec '${CLAUDE}' "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(wrapper, 0o755);
  return wrapper;
}

beforeAll(async () => {
  sandbox = await makeSandbox();
  const launch = sandbox.launch();
  const home = join(sandbox.root, 'home');
  await mkdir(home);
  // At the repository root, not in the worktree, and committed nowhere: read where it is.
  await writeFile(
    join(sandbox.root, 'local-settings.json'),
    JSON.stringify({ env: { FROM_SETTINGS: 'settings-file' } }),
  );
  await writeFile(launch.contextFile, '# Task\n\nRecord the environment.\n');
  model = await startScriptedModel([
    (seen) => {
      request = seen;
      return {
        blocks: [
          {
            type: 'tool_use',
            name: 'Bash',
            input: {
              command: 'printf "%s|%s" "$FROM_AGENT_ENV" "$FROM_SETTINGS" > seen.txt',
              description: 'Record the environment',
            },
          },
        ],
      };
    },
  ]);
  const config = Config.parse({
    agent: {
      binary: await recordingClaude(sandbox.root),
      allowedTools: ['Bash', 'Read'],
      model: 'claude-custom-model-1',
      fallbackModel: 'claude-fallback-model-2',
      maxTurns: 1,
      disallowedTools: ['WebFetch', 'Bash(rm:*)'],
      appendSystemPrompt: APPENDED,
      permissionMode: 'acceptEdits',
      mcpConfig: { mcpServers: { 'pe-probe': { command: '/bin/false', args: [] } } },
      settings: 'local-settings.json',
      extraArgs: ['--session-id', '8c3f2d4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f'],
      env: { FROM_AGENT_ENV: 'agent-env' },
    },
  });
  const runner = createAgentRunner(
    { kind: 'claude-code', ...agentOptionsFromConfig(config.agent) },
    { env: {}, cwd: sandbox.root },
  );
  const handle = await runner.start({
    ...launch,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: home,
      ANTHROPIC_BASE_URL: model.url,
      ANTHROPIC_API_KEY: 'sk-test-scripted',
    },
  });
  const recorder = recordEvents(handle);
  outcome = await handle.done;
  await recorder.finished;
  argv = (await readFile(join(sandbox.root, 'argv'), 'utf8')).split('\0').slice(0, -1);
  env = new Map(
    (await readFile(join(sandbox.root, 'env'), 'utf8'))
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  const log = await readFile(launch.logFile, 'utf8');
  init = log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line['type'] === 'system' && line['subtype'] === 'init')!;
}, 120_000);

afterAll(async () => {
  await model?.close();
  await sandbox?.cleanup();
});

/** The value after `flag` in the recorded argv. */
function flagValue(flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at === -1 ? undefined : argv[at + 1];
}

describe('Claude Code settings reach the real binary', () => {
  it('ran against the scripted model only', () => {
    expect(model.surprises).toEqual([]);
    expect(model.unusedTurns()).toBe(0);
    expect(init).toBeDefined();
  });

  it('model: the request names it', () => {
    expect(request.body?.['model']).toBe('claude-custom-model-1');
    expect(flagValue('--model')).toBe('claude-custom-model-1');
  });

  it('fallbackModel: --fallback-model', () => {
    expect(flagValue('--fallback-model')).toBe('claude-fallback-model-2');
  });

  it('maxTurns: the agent stops after one turn', () => {
    expect(flagValue('--max-turns')).toBe('1');
    expect(model.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(1);
    expect(outcome.agentError ?? '').toMatch(/max.turns/i);
  });

  it('disallowedTools: the model is not offered them, nor SendMessage', () => {
    expect(request.toolNames).toContain('Bash');
    expect(request.toolNames).toContain('Read');
    expect(request.toolNames).not.toContain('WebFetch');
    expect(request.toolNames).not.toContain('SendMessage');
    const at = argv.indexOf('--disallowedTools');
    expect(argv.slice(at + 1, at + 4)).toEqual(['SendMessage', 'WebFetch', 'Bash(rm:*)']);
  });

  it('appendSystemPrompt: the system prompt ends with it', () => {
    expect(request.system).toContain(APPENDED);
    expect(request.system).toContain('Claude Code');
  });

  it('permissionMode: the session runs in it', () => {
    expect(init['permissionMode']).toBe('acceptEdits');
  });

  it('mcpConfig: the server it names is loaded', () => {
    expect(init['mcp_servers']).toEqual([expect.objectContaining({ name: 'pe-probe' })]);
    expect(JSON.parse(flagValue('--mcp-config')!)).toEqual({
      mcpServers: { 'pe-probe': { command: '/bin/false', args: [] } },
    });
  });

  it('settings: a path from the repository root, its env applied to the agent', async () => {
    expect(flagValue('--settings')).toBe(join(sandbox.root, 'local-settings.json'));
    const seen = await readFile(join(sandbox.launch().worktree, 'seen.txt'), 'utf8');
    expect(seen.split('|')[1]).toBe('settings-file');
  });

  it('extraArgs: passed as they are', () => {
    expect(flagValue('--session-id')).toBe('8c3f2d4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f');
    expect(init['session_id']).toBe('8c3f2d4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f');
  });

  it('env: in the binary’s environment and its tools’', async () => {
    expect(env.get('FROM_AGENT_ENV')).toBe('agent-env');
    const seen = await readFile(join(sandbox.launch().worktree, 'seen.txt'), 'utf8');
    expect(seen.split('|')[0]).toBe('agent-env');
  });
});
