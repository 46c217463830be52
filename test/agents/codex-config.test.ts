import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentSettings } from '../../src/cli/run-settings.js';
import { codexArguments } from '../../src/engine/agents/codex.js';
import { readConfigFile } from '../../src/engine/config/load.js';
import { renderAgentContext } from '../../src/engine/workspace/context.js';
import { task } from '../engine/helpers.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pe-codex-config-'));
  await mkdir(join(root, '.github'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('agent.codex in the config', () => {
  it('reaches codex exec as --model and -c key=value, strings quoted as TOML', async () => {
    await writeFile(
      join(root, '.github/parallel-executor.yml'),
      [
        'agent:',
        '  kind: codex',
        '  model: gpt-5.5',
        '  codex:',
        '    config:',
        '      sandbox_workspace_write.network_access: true',
        '      model_reasoning_effort: high',
        '      model_providers.mine.request_max_retries: 2',
        '      notify_text: \'say "hi"\'',
        '',
      ].join('\n'),
    );
    const settings = agentSettings(await readConfigFile(root), {}, 1000);
    expect(settings).toMatchObject({ kind: 'codex', model: 'gpt-5.5' });
    expect(
      codexArguments({
        ...settings,
        config: settings.codexConfig,
        writable: ['/s', '/m'],
        lastMessageFile: '/l.txt',
      }),
    ).toEqual([
      'exec',
      '--json',
      '--sandbox',
      'workspace-write',
      '--skip-git-repo-check',
      '--add-dir',
      '/s',
      '--add-dir',
      '/m',
      '--output-last-message',
      '/l.txt',
      '-c',
      'tools.update_plan={enabled=true}',
      '--model',
      'gpt-5.5',
      '-c',
      'sandbox_workspace_write.network_access=true',
      '-c',
      'model_reasoning_effort="high"',
      '-c',
      'model_providers.mine.request_max_retries=2',
      '-c',
      'notify_text="say \\"hi\\""',
      '-',
    ]);
  });

  it('refuses a key that is not a config.toml key, naming the file and the line', async () => {
    await writeFile(
      join(root, '.github/parallel-executor.yml'),
      'agent:\n  kind: codex\n  codex:\n    config:\n      "bad key=1": x\n',
    );
    await expect(readConfigFile(root)).rejects.toThrow(
      /parallel-executor\.yml:5.*must be a dotted config\.toml key/s,
    );
  });
});

describe('the context of an agent that cannot write .git', () => {
  const input = {
    executionId: 'exec_1',
    task: task('1.1'),
    agent: 'Builder-1',
    groupTitle: null,
    planTitle: null,
    branch: 'agent/builder-1/1-1',
    baseRef: 'main',
    dependencies: [],
    otherAgents: [],
    inbox: 'builder-1',
    port: 3000,
    portsPerAgent: 10,
    messaging: true,
  };

  it('tells it not to commit and that the tool commits its work on its branch', () => {
    const readOnly = renderAgentContext({ ...input, gitReadOnly: true });
    expect(readOnly).toContain('Do not commit: your sandbox');
    expect(readOnly).toContain(
      'parallel-executor commits your work on `agent/builder-1/1-1` when you exit',
    );
    expect(readOnly).not.toContain('Commit on this branch if you like');
    expect(renderAgentContext(input)).toContain('Commit on this branch if you like');
  });
});
