/**
 * An agent leg with `agent: codex`: the real Codex CLI (as the workflow installs it, on PATH) on a
 * scripted Responses API. Its `openai-api-key` input is the only key Codex gets: the Anthropic key
 * given to the same step does not reach it, nor do the runner's tokens. Codex's own environment is
 * read from /proc by the scripted model's command (the sandbox helper carries it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TaskFile } from '../../src/action/task-file.js';
import { codexProvider, startScriptedResponses } from '../support/scripted-responses.js';
import { CONFIG, planText, repositoryFiles } from './e2e-fixture.js';
import { useLegDirs } from './leg-fixture.js';
import { createRemote } from './runner.js';

const BIN = join(import.meta.dirname, '..', '..', 'node_modules', '.bin');

/** Finds the nearest ancestor run with `--json` (codex, or its sandbox helper) and lists its variables. */
const LIST_CODEX_ENV = [
  'pid=$$',
  'while [ "$pid" -gt 1 ]; do',
  '  if tr "\\0" "\\n" < /proc/$pid/cmdline | grep -q -- "--json"; then',
  '    tr "\\0" "\\n" < /proc/$pid/environ | cut -d= -f1 | sort > codex-env-keys.txt; break',
  '  fi',
  '  pid=$(cut -d" " -f4 /proc/$pid/stat)',
  'done',
].join('\n');

describe('agent mode with codex', () => {
  const legs = useLegDirs('pe-codex-leg-');

  it('runs the task with the real Codex CLI, which gets the openai-api-key input and no other secret', async () => {
    const model = await legs.startModel(startScriptedResponses, [
      { output: [{ type: 'exec', cmd: LIST_CODEX_ENV }] },
      {
        output: [
          {
            type: 'apply_patch',
            patch: '*** Begin Patch\n*** Add File: feature-a.txt\n+A by codex\n*** End Patch\n',
          },
        ],
      },
      { output: [{ type: 'message', text: 'Feature A added.' }] },
    ]);
    const files = await repositoryFiles(planText('Add feature A', []));
    files['.github/parallel-executor.yml'] =
      `${CONFIG}${stringify({ agent: { model: 'gpt-5.5', codex: { config: codexProvider(model.url) } } })}`;
    const remote = await createRemote(legs.dir, files);
    const bundle = join(legs.dir, 'bundle');
    const leg = await legs.runLeg({
      remote,
      inputs: {
        task: '1.1',
        agent: 'codex',
        'openai-api-key': 'sk-openai-leg',
        'anthropic-api-key': 'sk-ant-not-for-codex',
        'bundle-dir': bundle,
      },
      env: {
        PATH: `${BIN}:${process.env.PATH ?? ''}`,
        CODEX_HOME: legs.home,
        ANTHROPIC_API_KEY: 'sk-ant-from-the-runner',
        OPENAI_API_KEY: 'sk-openai-from-the-runner',
      },
    });

    expect(leg.runtime.failed).toBeNull();
    expect(leg.outputs.status).toBe('completed');
    expect(model.requests.map((r) => r.authorization)).toEqual(
      Array(3).fill('Bearer sk-openai-leg'),
    );
    const task = TaskFile.parse(JSON.parse(await readFile(join(bundle, 'task.json'), 'utf8')));
    expect(task).toMatchObject({ status: 'completed', bundle: 'branch.bundle' });
    expect(await remote.git(['-C', leg.workspace, 'show', `${task.branch}:feature-a.txt`])).toBe(
      'A by codex',
    );
    const keys = (
      await remote.git(['-C', leg.workspace, 'show', `${task.branch}:codex-env-keys.txt`])
    ).split('\n');
    expect(keys).toEqual(expect.arrayContaining(['OPENAI_API_KEY', 'CODEX_API_KEY', 'PE_TASK_ID']));
    expect(keys.filter((k) => /^(ANTHROPIC_|INPUT_|ACTIONS_|GITHUB_TOKEN)/.test(k))).toEqual([]);
    expect(leg.runtime.secrets).toContain('sk-openai-leg');
    expect(model.surprises).toEqual([]);
  });
});
