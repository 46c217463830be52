import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  codexProvider,
  startScriptedResponses,
  type ResponsesReply,
  type ResponsesRequest,
  type ScriptedResponses,
} from '../support/scripted-responses.js';
import { plan, task } from '../engine/helpers.js';
import { cli, writePlanJson } from './helpers.js';

// `parallel-executor run --agent codex` end to end: the real Codex CLI (node_modules/.bin/codex,
// found there by the adapter) on a scripted Responses API, two tasks at once.

let repo: TempRepo;
let codexHome: string;
let model: ScriptedResponses | null = null;

beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  codexHome = await mkdtemp(join(tmpdir(), 'pe-codex-cli-home-'));
  await writePlanJson(
    repo.dir,
    plan([task('1.1', { title: 'Write one' }), task('1.2', { title: 'Write two' })]),
  );
});

afterEach(async () => {
  await model?.close();
  model = null;
  await repo.cleanup();
  await rm(codexHome, { recursive: true, force: true });
});

/** The config the run reads: codex, a priced model, the scripted provider. Committed: the tree must be clean. */
async function configure(url: string): Promise<void> {
  await repo.write(
    '.github/parallel-executor.yml',
    stringify({
      agent: { kind: 'claude-code', model: 'gpt-5.5', codex: { config: codexProvider(url) } },
    }),
  );
  await repo.commit('configure codex');
}

/** Each task's agent gets its own conversation: the answer depends on the task and the turn. */
function twoAgents(): (request: ResponsesRequest) => ResponsesReply {
  const turns = new Map<string, number>();
  return (request) => {
    const id = /## Task ID\n(\S+)/.exec(request.inputText)?.[1] ?? '?';
    const turn = (turns.get(id) ?? 0) + 1;
    turns.set(id, turn);
    const usage = {
      input_tokens: 1000 * turn + (id === '1.2' ? 7 : 0),
      cached_tokens: 300 * turn,
      output_tokens: 20 * turn + 1,
    };
    if (turn === 1 && id === '1.1') {
      return {
        output: [
          {
            type: 'apply_patch',
            patch: '*** Begin Patch\n*** Add File: one.txt\n+one\n*** End Patch\n',
          },
        ],
        usage,
      };
    }
    if (turn === 1) return { output: [{ type: 'exec', cmd: "printf 'two\\n' > two.txt" }], usage };
    return { output: [{ type: 'message', text: `Task ${id} done.` }], usage };
  };
}

describe('parallel-executor run --agent codex', () => {
  it('runs a two-task plan with the real Codex CLI, integrates the work and reports the server’s usage', async () => {
    const answer = twoAgents();
    model = await startScriptedResponses(Array.from({ length: 4 }, () => answer));
    await configure(model.url);
    const env = { HOME: codexHome, CODEX_HOME: codexHome, OPENAI_API_KEY: 'sk-test-scripted' };

    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent', 'codex', '--json'],
      repo.dir,
      env,
    );
    expect(result.stderr).toContain('GO');
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      status: string;
      tasks: Array<{ id: string; status: string; outcome: string; reason: string | null }>;
      usage: Record<string, number | null>;
      integration: { branch: string; merged: string[] };
    };
    expect(doc.status).toBe('completed');
    expect(doc.tasks.map((t) => [t.id, t.status, t.outcome, t.reason])).toEqual([
      ['1.1', 'completed', 'COMPLETE', null],
      ['1.2', 'completed', 'COMPLETE', null],
    ]);
    expect(doc.integration.merged).toEqual(['1.1', '1.2']);
    expect(await repo.git(['show', `${doc.integration.branch}:one.txt`])).toBe('one');
    expect(await repo.git(['show', `${doc.integration.branch}:two.txt`])).toBe('two');

    // Both agents asked twice; the totals are the server's, the cached part apart.
    expect(model.requests).toHaveLength(4);
    expect(model.served).toEqual({ input_tokens: 6014, cached_tokens: 1800, output_tokens: 124 });
    const { input_tokens: input, cached_tokens: cached, output_tokens: output } = model.served;
    expect(doc.usage).toEqual({
      inputTokens: input - cached,
      cacheReadTokens: cached,
      cacheCreationTokens: 0,
      outputTokens: output,
      costUsd: expect.closeTo(((input - cached) * 5 + cached * 0.5 + output * 30) / 1e6, 12),
    });
    expect(model.surprises).toEqual([]);
  });

  it('fails the task with the API’s reason in plain words when the key is refused', async () => {
    const refused = {
      status: 401,
      message: 'Incorrect API key provided: sk-bad.',
      code: 'invalid_api_key',
    };
    model = await startScriptedResponses([refused, refused]);
    await configure(model.url);
    const result = await cli(
      ['run', '--plan', 'plan.json', '--agent', 'codex', '--group', '1', '--json'],
      repo.dir,
      { HOME: codexHome, CODEX_HOME: codexHome, OPENAI_API_KEY: 'sk-bad' },
    );
    expect(result.code).toBe(1);
    const doc = JSON.parse(result.stdout) as { tasks: Array<{ status: string; reason: string }> };
    expect(doc.tasks.map((t) => t.status)).toEqual(['failed', 'failed']);
    for (const { reason } of doc.tasks) {
      expect(reason).toContain(
        'the API key was refused (HTTP 401 Unauthorized): Incorrect API key provided: sk-bad.',
      );
      expect(reason).not.toContain('{"type"');
    }
    expect(model.requests).toHaveLength(2);
    expect(model.surprises).toEqual([]);
  });
});
