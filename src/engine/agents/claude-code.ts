import { resolve } from 'node:path';
import { PreflightError } from '../errors.js';
import type { AgentHandle, AgentLaunch, AgentRunner } from '../ports/agent-runner.js';
import { agentEnvironment, processOwner, readContextBundle } from './agent-env.js';
import { resolveAgentBinary } from './agent-binary.js';
import { hasClaudeCredentials } from './claude-binary.js';
import type { AgentKind } from './kind.js';
import { createClaudeStreamInterpreter } from './claude-stream.js';
import { unseenClaudeUsage } from './claude-transcript.js';
import { startAgentProcess } from './process.js';

/** Claude Code's own settings (config `agent:`, action inputs), each one flag of the CLI. */
export interface ClaudeSettings {
  model?: string;
  fallbackModel?: string;
  maxTurns?: number;
  /** Tools the agent may not use; `SendMessage` always is (see DISALLOWED_ALWAYS). */
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  permissionMode?: ClaudePermissionMode;
  /** `--mcp-config` and `--settings`: a JSON string, or a path (relative ones from the repository root). */
  mcpConfig?: string;
  settings?: string;
  /** Appended to the command line as they are (the user's own configuration). */
  extraArgs?: string[];
}

export interface ClaudeCodeRunnerOptions extends ClaudeSettings {
  /** Path or name of the `claude` executable; default `claude` on PATH, then node_modules/.bin. */
  binary?: string;
  /** Tools the agent may use without asking (`--allowedTools`); root cannot skip permissions. */
  allowedTools: string[];
  /** Extra environment for the agent (config `agent.env`), over the shell's. */
  extraEnv?: Record<string, string>;
  /** The shell's environment, for `preflight()`: PATH and credentials. `start()` uses launch.env. */
  env?: Record<string, string>;
  /** The repository root: where node_modules/.bin/claude and a relative `binary` are looked up. */
  cwd?: string;
  /** Grace between SIGTERM and SIGKILL when `stop()` is given none (default 10 s). */
  graceMs?: number;
  /** Output lines kept for the outcome (default 20). */
  lastLines?: number;
}

/** `--permission-mode`'s choices (Claude Code 2.1). */
export const CLAUDE_PERMISSION_MODES = [
  'acceptEdits',
  'auto',
  'bypassPermissions',
  'default',
  'dontAsk',
  'plan',
] as const;
export type ClaudePermissionMode = (typeof CLAUDE_PERMISSION_MODES)[number];

/**
 * In print mode Claude Code ends its turn on SIGINT (the running tool is rejected), prints its
 * result and exits, asking the model nothing more. On SIGTERM it shuts down at leisure (it runs
 * the user's SessionEnd hooks) while its loop goes on: the command the tree's SIGTERM killed
 * returns, and it asks the model for the next turn, runs its tools, and the next.
 */
export const CLAUDE_INTERRUPT: NodeJS.Signals = 'SIGINT';

/**
 * Tools never offered: `SendMessage` addresses the members of a Claude Code agent team, and a task's
 * agent is in none ("No agent named 'builder-2' is currently addressable"); agents of a plan talk
 * through the inbox files instead.
 */
export const DISALLOWED_ALWAYS = ['SendMessage'];

const INSTALL_HINT =
  'Install Claude Code with `npm i -g @anthropic-ai/claude-code` (or set agent.binary in .github/parallel-executor.yml), or run your own agent with `--agent command --agent-command "<command>"`.';
const KEY_HINT =
  'Set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN / ANTHROPIC_BASE_URL for a gateway), or run `claude login` once; or run your own agent with `--agent command --agent-command "<command>"`.';
/**
 * The `claude-code` adapter: the real Claude Code CLI in print mode with streamed JSON output,
 * run in the task's worktree with the context bundle as its prompt. No shell is involved, and the
 * prompt goes on stdin: a command line is visible to every user of the machine (`ps`,
 * /proc/<pid>/cmdline), and Linux refuses an argv string over 128 KiB anyway.
 */
export function createClaudeCodeRunner(options: ClaudeCodeRunnerOptions): AgentRunner {
  const shellEnv = options.env ?? {};
  const locate = (path: string, cwd: string): Promise<string | null> =>
    resolveAgentBinary({ name: 'claude', binary: options.binary, path, cwd });

  return {
    kind: 'claude-code',
    interrupt: CLAUDE_INTERRUPT,
    // The agent's own environment: where its transcripts are (HOME, CLAUDE_CONFIG_DIR).
    unseenUsage: ({ logFile, env }) => unseenClaudeUsage(logFile, { ...env, ...options.extraEnv }),
    async preflight() {
      const binary = await locate(shellEnv['PATH'] ?? '', options.cwd ?? '.');
      if (binary === null) {
        const what =
          options.binary === undefined ? 'on PATH or in node_modules/.bin' : `at ${options.binary}`;
        throw new PreflightError(
          `the Claude Code CLI (\`claude\`) was not found ${what}`,
          INSTALL_HINT,
        );
      }
      if (!(await hasClaudeCredentials({ ...shellEnv, ...options.extraEnv }))) {
        throw new PreflightError(
          'Claude Code has no credentials: ANTHROPIC_API_KEY is not set',
          KEY_HINT,
        );
      }
    },
    async start(launch: AgentLaunch): Promise<AgentHandle> {
      const binary = await locate(launch.env['PATH'] ?? '', options.cwd ?? launch.worktree);
      if (binary === null)
        throw new PreflightError('the Claude Code CLI (`claude`) was not found', INSTALL_HINT);
      const context = await readContextBundle(launch);
      return startAgentProcess({
        file: binary,
        args: claudeArguments({
          ...options,
          mcpConfig: fromRoot(options.mcpConfig, options.cwd ?? launch.worktree),
          settings: fromRoot(options.settings, options.cwd ?? launch.worktree),
        }),
        stdin: buildClaudePrompt(launch, context),
        cwd: launch.worktree,
        env: {
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          ...agentEnvironment({ ...launch, env: { ...launch.env, ...options.extraEnv } }),
        },
        logFile: launch.logFile,
        statusFile: launch.statusFile,
        signal: launch.signal,
        owner: processOwner(launch),
        interpreter: createClaudeStreamInterpreter({
          cwd: launch.worktree,
          credential: credentialName({ ...launch.env, ...options.extraEnv }),
        }),
        graceMs: options.graceMs,
        interrupt: CLAUDE_INTERRUPT,
        lastLines: options.lastLines,
      });
    },
  };
}

/** The arguments; the prompt is not among them (it goes on stdin). `--` ends the variadic `--allowedTools` list. */
export function claudeArguments(
  options: Omit<ClaudeCodeRunnerOptions, 'binary' | 'env' | 'cwd' | 'graceMs' | 'lastLines'>,
): string[] {
  // Partial messages: a long reply (a big file written in one tool call) streams as deltas the
  // idle timer counts as life, instead of one line minutes later.
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--include-partial-messages'];
  const option = (flag: string, value: string | number | undefined): void => {
    if (value !== undefined) args.push(flag, String(value));
  };
  option('--model', options.model);
  option('--fallback-model', options.fallbackModel);
  option('--max-turns', options.maxTurns);
  option('--append-system-prompt', options.appendSystemPrompt);
  option('--permission-mode', options.permissionMode);
  option('--mcp-config', options.mcpConfig);
  option('--settings', options.settings);
  args.push(...(options.extraArgs ?? []));
  // Variadic, one rule an argument (`Bash(git push:*)` holds a space); the next flag or `--` ends it.
  args.push(
    '--disallowedTools',
    ...new Set([...DISALLOWED_ALWAYS, ...(options.disallowedTools ?? [])]),
  );
  if (options.allowedTools.length > 0) args.push('--allowedTools', ...options.allowedTools);
  return [...args, '--'];
}

/**
 * A path resolved from the repository root, so that a file the user has not committed (a local
 * `.claude/settings.json`) is read where it is; JSON text (it starts with `{`) is passed as it is.
 */
function fromRoot(value: string | undefined, root: string): string | undefined {
  if (value === undefined || value.trimStart().startsWith('{')) return value;
  return resolve(root, value);
}

/** What Claude Code authenticates with, for a refusal's reason. */
function credentialName(env: Record<string, string>): string {
  if (env['ANTHROPIC_API_KEY']) return 'API key';
  if (env['CLAUDE_CODE_OAUTH_TOKEN']) return 'OAuth token';
  if (env['ANTHROPIC_AUTH_TOKEN']) return 'auth token (ANTHROPIC_AUTH_TOKEN)';
  return 'API key';
}

/** The context bundle, framed by what a non-interactive run needs to be told. */
export function buildClaudePrompt(launch: AgentLaunch, context: string): string {
  return [
    `You are agent ${launch.agent}, working non-interactively on task ${launch.taskId} in a git worktree (the current directory, branch ${launch.branch}).`,
    'Nobody will answer questions: decide, do the work, and verify it. The task brief follows.',
    '',
    context.trim(),
    '',
    '---',
    `Work only inside this worktree. Whatever you leave uncommitted is committed on ${launch.branch} for you when you finish.`,
    'When you are done, reply with a short summary of what you changed and how you checked it.',
  ].join('\n');
}

/** `claude-code`: the Claude Code CLI, the default kind. */
export const claudeCodeKind: AgentKind = {
  apiKeyEnv: 'ANTHROPIC_API_KEY',
  apiKeyInput: 'anthropic-api-key',
  describe: () => 'claude-code',
  // The settings are the runner's options; `env` is the extra environment, the shell's is apart.
  create: (settings, context) =>
    createClaudeCodeRunner({
      ...settings,
      extraEnv: settings.env,
      env: context.env,
      cwd: context.cwd,
    }),
};
