import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { AgentRunner } from '../../src/engine/ports/agent-runner.js';
import { claudeEnv, claudeRunner } from './claude-cli.js';
import { createTempRepo, type TempRepo } from './git-repo.js';
import { startScriptedModel, type ScriptedModel, type ScriptedTurn } from './scripted-model.js';

export interface ClaudeFixture {
  /** This test's repository (fresh for each test). */
  readonly repo: TempRepo;
  /** This test's private HOME for the CLI. */
  readonly home: string;
  /** Starts a scripted model, closed after the test. */
  startModel(script: ScriptedTurn[]): Promise<ScriptedModel>;
  /** The CLI's environment against `url`, with this test's HOME. */
  env(url: string, key?: string): Record<string, string>;
  /** A runner for the real CLI in this test's repository. */
  runner(env: Record<string, string>, allowedTools: string[]): AgentRunner;
}

/**
 * Registers `beforeEach`/`afterEach` for a test file that runs the real Claude Code CLI: a temp
 * repository with `files`, a private HOME, and the scripted models a test starts, all removed after.
 */
export function useClaudeFixture(
  files: Record<string, string> = { 'README.md': '# app\n' },
): ClaudeFixture {
  let repo: TempRepo | null = null;
  let home: string | null = null;
  const models: ScriptedModel[] = [];
  beforeEach(async () => {
    repo = await createTempRepo({ files });
    home = await mkdtemp(join(tmpdir(), 'pe-claude-home-'));
  });
  afterEach(async () => {
    await Promise.all(models.splice(0).map((model) => model.close()));
    await repo?.cleanup();
    if (home) await rm(home, { recursive: true, force: true });
    repo = null;
    home = null;
  });
  const fixture: ClaudeFixture = {
    get repo() {
      if (!repo) throw new Error('useClaudeFixture: the repository exists only inside a test');
      return repo;
    },
    get home() {
      if (!home) throw new Error('useClaudeFixture: HOME exists only inside a test');
      return home;
    },
    async startModel(script) {
      const model = await startScriptedModel(script);
      models.push(model);
      return model;
    },
    env: (url, key) => claudeEnv(fixture.home, url, key),
    runner: (env, allowedTools) => claudeRunner(env, fixture.repo.dir, allowedTools),
  };
  return fixture;
}
