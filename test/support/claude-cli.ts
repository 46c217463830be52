import { resolve } from 'node:path';
import { createClaudeCodeRunner } from '../../src/engine/agents/claude-code.js';
import type { AgentRunner } from '../../src/engine/ports/agent-runner.js';

/** The real Claude Code CLI installed with the project's dev dependencies. */
export const CLAUDE = resolve(import.meta.dirname, '../../node_modules/.bin/claude');

/** The real CLI's environment, pointed at a scripted model with a private HOME. */
export function claudeEnv(
  home: string,
  url: string,
  key = 'sk-test-scripted',
): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: home,
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: key,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
}

/** A runner for the real CLI in `cwd`, allowed only `allowedTools`. */
export function claudeRunner(
  env: Record<string, string>,
  cwd: string,
  allowedTools: string[],
  graceMs = 500,
): AgentRunner {
  return createClaudeCodeRunner({ binary: CLAUDE, allowedTools, env, cwd, graceMs });
}
