import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfigFile } from '../../src/engine/config/load.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pe-config-'));
  await mkdir(join(root, '.github'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('the config file in a checkout (what the Action reads)', () => {
  it('reads .github/parallel-executor.yaml as well as .yml, and names it in errors', async () => {
    await writeFile(join(root, '.github/parallel-executor.yaml'), 'retries: 2\n');
    expect((await readConfigFile(root)).retries).toBe(2);
    await writeFile(join(root, '.github/parallel-executor.yaml'), 'retries: many\n');
    await expect(readConfigFile(root)).rejects.toThrow(/\.github\/parallel-executor\.yaml:1/);
  });

  it('refuses both spellings at once rather than ignoring one', async () => {
    await writeFile(join(root, '.github/parallel-executor.yml'), 'retries: 1\n');
    await writeFile(join(root, '.github/parallel-executor.yaml'), 'retries: 2\n');
    await expect(readConfigFile(root)).rejects.toThrow(/both .* exist; only one is read/);
  });

  it('reads the Claude Code settings of agent:, and names the line of a bad one', async () => {
    const file = join(root, '.github/parallel-executor.yml');
    await writeFile(
      file,
      [
        'agent:',
        '  maxTurns: 30',
        '  disallowedTools: [WebFetch]',
        '  settings: { env: { A: "1" } }',
        '  env: { B: "2" }',
        '',
      ].join('\n'),
    );
    expect((await readConfigFile(root)).agent).toMatchObject({
      maxTurns: 30,
      disallowedTools: ['WebFetch'],
      settings: { env: { A: '1' } },
      env: { B: '2' },
      extraArgs: [],
    });
    await writeFile(file, 'agent:\n  model: sonnet\n  permissionMode: yolo\n');
    await expect(readConfigFile(root)).rejects.toThrow(/parallel-executor\.yml:3.*permissionMode/);
  });

  it('gives every default without a file', async () => {
    expect((await readConfigFile(root)).retries).toBe(0);
  });
});
