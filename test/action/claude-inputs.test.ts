/**
 * Agent mode's Claude Code inputs reach the real `claude` binary (a recording wrapper on PATH logs
 * its argv and environment, then execs the real one against a scripted model): the settings win
 * over the config, the OAuth token authenticates the model requests, and the credentials of
 * each provider reach the agent and nothing else the job runs (the validation checks run
 * agent-written code).
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { startScriptedModel } from '../support/scripted-model.js';
import { planText, repositoryFiles } from './e2e-fixture.js';
import { useLegDirs } from './leg-fixture.js';
import { createRemote } from './runner.js';

const CLAUDE = resolve('node_modules/.bin/claude');
const OAUTH = 'oauth-token-5d2c-secret';
const AWS_SECRET = 'aws-secret-9a7b-secret';

describe('agent mode: Claude Code inputs and credentials', () => {
  const legs = useLegDirs('pe-claude-inputs-');
  let bin: string;
  beforeEach(async () => {
    bin = join(legs.dir, 'bin');
    await mkdir(bin);
  });

  /** `claude` on PATH: records, then runs the real binary (or, with `exit`, stops there). */
  async function wrapper(then: 'exec' | 'exit'): Promise<void> {
    const file = join(bin, 'claude');
    await writeFile(
      file,
      [
        '#!/bin/sh',
        `printf '%s\\0' "$@" > '${legs.dir}/argv'`,
        `env -0 > '${legs.dir}/env'`,
        then === 'exec' ? `exec '${CLAUDE}' "$@"` : 'exit 3',
        '',
      ].join('\n'),
    );
    await chmod(file, 0o755);
  }

  async function recorded(): Promise<{ argv: string[]; env: Map<string, string> }> {
    const argv = (await readFile(join(legs.dir, 'argv'), 'utf8')).split('\0').slice(0, -1);
    const env = new Map(
      (await readFile(join(legs.dir, 'env'), 'utf8'))
        .split('\0')
        .filter((entry) => entry.includes('='))
        .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const),
    );
    return { argv, env };
  }

  /** The repository, its validation check dumping the environment the checks get. */
  async function remoteWithChecks(agentConfig: string) {
    const files = await repositoryFiles(planText('Add feature A', []));
    files['.github/parallel-executor.yml'] = [
      'agent:',
      agentConfig,
      'validation:',
      `  tests: env > '${legs.dir}/checks-env'`,
      '  lint: false',
      '  coverage: false',
      '  security: false',
      '  build: false',
      '',
    ].join('\n');
    return createRemote(legs.dir, files);
  }

  it('passes each Claude Code input to the binary and authenticates with the OAuth token', async () => {
    await wrapper('exec');
    const model = await legs.startModel(startScriptedModel, [
      (request) => ({
        blocks: [
          {
            type: 'tool_use',
            name: 'Write',
            input: { file_path: join(request.workingDirectory ?? '', 'a.txt'), content: 'a\n' },
          },
        ],
      }),
      { blocks: [{ type: 'text', text: 'Wrote a.txt.' }] },
    ]);
    const remote = await remoteWithChecks(
      ['  model: claude-from-config', '  allowedTools: [Read, Write]'].join('\n'),
    );
    const leg = await legs.runLeg({
      remote,
      inputs: {
        task: '1.1',
        'bundle-dir': join(legs.dir, 'bundle'),
        'claude-code-oauth-token': OAUTH,
        model: 'claude-from-input',
        'fallback-model': 'claude-fallback-input',
        'max-turns': '4',
        'disallowed-tools': 'WebFetch, WebSearch',
        'append-system-prompt': 'APPENDED-BY-THE-ACTION',
        'permission-mode': 'acceptEdits',
        'mcp-config': '{"mcpServers":{}}',
        settings: '{"env":{"FROM_SETTINGS":"1"}}',
        'extra-args': '--session-id\n0d9e6a4b-3c2f-4e1d-8b7a-6f5e4d3c2b1a',
        'agent-env': 'LEG_VALUE=from the input',
      },
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, ANTHROPIC_BASE_URL: model.url },
    });

    expect(leg.runtime.failed).toBeNull();
    expect(leg.outputs.status).toBe('completed');
    expect(model.surprises).toEqual([]);
    const [first] = model.requests.filter((r) => r.path === '/v1/messages');
    expect(first!.headers['authorization']).toBe(`Bearer ${OAUTH}`);
    expect(first!.body?.['model']).toBe('claude-from-input');
    expect(first!.system).toContain('APPENDED-BY-THE-ACTION');
    expect(first!.toolNames).toContain('Write');
    for (const tool of ['WebFetch', 'WebSearch', 'SendMessage'])
      expect(first!.toolNames).not.toContain(tool);

    const { argv, env } = await recorded();
    const after = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(after('--fallback-model')).toBe('claude-fallback-input');
    expect(after('--max-turns')).toBe('4');
    expect(after('--permission-mode')).toBe('acceptEdits');
    expect(after('--mcp-config')).toBe('{"mcpServers":{}}');
    expect(after('--settings')).toBe('{"env":{"FROM_SETTINGS":"1"}}');
    expect(after('--session-id')).toBe('0d9e6a4b-3c2f-4e1d-8b7a-6f5e4d3c2b1a');
    expect(env.get('LEG_VALUE')).toBe('from the input');
    expect(env.get('CLAUDE_CODE_OAUTH_TOKEN')).toBe(OAUTH);
    expect([...env.keys()].filter((key) => key.startsWith('INPUT_'))).toEqual([]);

    // The checks ran agent-written code: no credential there, and none in the log.
    const checks = await readFile(join(legs.dir, 'checks-env'), 'utf8');
    expect(checks).not.toContain(OAUTH);
    expect(leg.runtime.secrets).toContain(OAUTH);
  }, 120_000);

  it('use-bedrock: the provider switch, region and AWS credentials go to the agent only', async () => {
    await wrapper('exit');
    const remote = await remoteWithChecks('  allowedTools: [Read]');
    const leg = await legs.runLeg({
      remote,
      inputs: {
        task: '1.1',
        'bundle-dir': join(legs.dir, 'bundle'),
        'use-bedrock': 'true',
        'aws-region': 'eu-west-1',
        'aws-access-key-id': 'AKIAEXAMPLE',
        'aws-secret-access-key': AWS_SECRET,
      },
      // A session token the job holds (configure-aws-credentials): moved to the agent too.
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, AWS_SESSION_TOKEN: 'session-from-job' },
    });
    expect(leg.outputs.status).toBe('failed');
    const { env } = await recorded();
    expect(env.get('CLAUDE_CODE_USE_BEDROCK')).toBe('1');
    expect(env.get('AWS_REGION')).toBe('eu-west-1');
    expect(env.get('AWS_ACCESS_KEY_ID')).toBe('AKIAEXAMPLE');
    expect(env.get('AWS_SECRET_ACCESS_KEY')).toBe(AWS_SECRET);
    expect(env.get('AWS_SESSION_TOKEN')).toBe('session-from-job');
    expect(env.has('ANTHROPIC_API_KEY')).toBe(false);
    expect(leg.runtime.secrets).toContain(AWS_SECRET);
  }, 120_000);

  it('use-vertex: the provider switch, project and region reach the agent', async () => {
    await wrapper('exit');
    const remote = await remoteWithChecks('  allowedTools: [Read]');
    await legs.runLeg({
      remote,
      inputs: {
        task: '1.1',
        'bundle-dir': join(legs.dir, 'bundle'),
        'use-vertex': 'true',
        'vertex-project-id': 'acme-ml',
        'vertex-region': 'us-east5',
      },
      env: { PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    const { env } = await recorded();
    expect(env.get('CLAUDE_CODE_USE_VERTEX')).toBe('1');
    expect(env.get('ANTHROPIC_VERTEX_PROJECT_ID')).toBe('acme-ml');
    expect(env.get('CLOUD_ML_REGION')).toBe('us-east5');
  }, 120_000);
});
