import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PreflightError } from '../errors.js';
import type { AgentHandle, AgentLaunch, AgentRunner } from '../ports/agent-runner.js';
import { agentEnvironment, processOwner, readContextBundle } from './agent-env.js';
import { resolveAgentBinary } from './agent-binary.js';
import { buildClaudePrompt } from './claude-code.js';
import { createCodexStreamInterpreter } from './codex-stream.js';
import type { AgentKind } from './kind.js';
import { startAgentProcess } from './process.js';

/** A `-c key=value` override: strings are written as TOML strings, numbers and booleans as they are. */
export type CodexConfigValue = string | number | boolean;

export interface CodexRunnerOptions {
  /** Path or name of the `codex` executable; default `codex` on PATH, then node_modules/.bin. */
  binary?: string;
  model?: string;
  /** `-c` overrides (agent.codex.config), after the adapter's own, so they win. */
  config?: Record<string, CodexConfigValue>;
  /** Appended to the command line as they are (the user's own configuration). */
  extraArgs?: string[];
  /** The shell's environment, for `preflight()`: PATH, credentials, CODEX_HOME. */
  env?: Record<string, string>;
  /** The repository root: where node_modules/.bin/codex and a relative `binary` are looked up. */
  cwd?: string;
  graceMs?: number;
  lastLines?: number;
}

const INSTALL_HINT =
  'Install Codex with `npm i -g @openai/codex` (or set agent.binary in .github/parallel-executor.yml), or run your own agent with `--agent command --agent-command "<command>"`.';
const KEY_HINT =
  'Set OPENAI_API_KEY (or CODEX_API_KEY), or run `codex login` once; in the Action, pass the `openai-api-key` input.';
const LOGIN_STATUS_TIMEOUT_MS = 15_000;

/**
 * The `codex` adapter: the real Codex CLI (`codex exec --json`) in the task's worktree, the
 * prompt on stdin. Codex runs the model's commands in its `workspace-write` sandbox: the worktree
 * is writable, and so are the tool's folders the agent must write to (its status file's and the
 * messages folder, given with `--add-dir`). The repository's `.git` is not (a worktree's git
 * folder lives in the main repository's), so the agent cannot commit: the runner says so
 * (`gitReadOnly`), the context tells the agent, and collection commits what it leaves.
 */
export function createCodexRunner(options: CodexRunnerOptions): AgentRunner {
  const shellEnv = options.env ?? {};
  const locate = (path: string, cwd: string): Promise<string | null> =>
    resolveAgentBinary({ name: 'codex', binary: options.binary, path, cwd });

  return {
    kind: 'codex',
    gitReadOnly: true,
    async preflight() {
      const binary = await locate(shellEnv['PATH'] ?? '', options.cwd ?? '.');
      if (binary === null) {
        const what =
          options.binary === undefined ? 'on PATH or in node_modules/.bin' : `at ${options.binary}`;
        throw new PreflightError(`the Codex CLI (\`codex\`) was not found ${what}`, INSTALL_HINT);
      }
      if (!(await hasCodexCredentials(shellEnv, binary, options.config ?? {}))) {
        throw new PreflightError(
          'Codex has no credentials: neither OPENAI_API_KEY nor CODEX_API_KEY is set, and `codex login status` says it is not logged in',
          KEY_HINT,
        );
      }
    },
    async start(launch: AgentLaunch): Promise<AgentHandle> {
      const binary = await locate(launch.env['PATH'] ?? '', options.cwd ?? launch.worktree);
      if (binary === null)
        throw new PreflightError('the Codex CLI (`codex`) was not found', INSTALL_HINT);
      const context = await readContextBundle(launch);
      const writable = toolFolders(launch);
      await Promise.all(writable.map((dir) => mkdir(dir, { recursive: true })));
      const lastMessageFile = `${launch.logFile.replace(/\.log$/, '')}.last-message.txt`;
      // A previous attempt's last words must not pass for this one's.
      await rm(lastMessageFile, { force: true });
      return startAgentProcess({
        file: binary,
        args: codexArguments({ ...options, writable, lastMessageFile }),
        stdin: buildClaudePrompt(launch, context),
        cwd: launch.worktree,
        env: codexEnvironment(agentEnvironment(launch)),
        logFile: launch.logFile,
        statusFile: launch.statusFile,
        signal: launch.signal,
        owner: processOwner(launch),
        interpreter: createCodexStreamInterpreter({
          cwd: launch.worktree,
          model: modelOf(options),
          lastMessageFile,
        }),
        graceMs: options.graceMs,
        lastLines: options.lastLines,
      });
    },
  };
}

/**
 * The arguments; the prompt is not among them (`-`: it is read from stdin). Codex's git-repository
 * check guards against running in an arbitrary folder; here the tool chose the folder (a worktree
 * it made), so the check is skipped. The todo-list tool (`update_plan`) is turned on so the
 * agent's plan shows as progress.
 */
export function codexArguments(
  options: Pick<CodexRunnerOptions, 'model' | 'config' | 'extraArgs'> & {
    writable: string[];
    lastMessageFile: string;
  },
): string[] {
  const args = ['exec', '--json', '--sandbox', 'workspace-write', '--skip-git-repo-check'];
  for (const dir of options.writable) args.push('--add-dir', dir);
  args.push('--output-last-message', options.lastMessageFile);
  args.push('-c', 'tools.update_plan={enabled=true}');
  if (options.model !== undefined) args.push('--model', options.model);
  for (const [key, value] of Object.entries(options.config ?? {})) {
    args.push('-c', `${key}=${tomlValue(value)}`);
  }
  args.push(...(options.extraArgs ?? []));
  return [...args, '-'];
}

/** The folders outside the worktree the agent writes to: its status file's, and the messages. */
function toolFolders(launch: AgentLaunch): string[] {
  const messages = launch.env['PE_MESSAGES_DIR'];
  const dirs = [dirname(launch.statusFile), ...(messages ? [messages] : [])];
  return [...new Set(dirs)];
}

/**
 * `codex exec` reads its API key from CODEX_API_KEY; OPENAI_API_KEY, the name everyone sets (and
 * the Action's `openai-api-key` input), is handed on under that name when it is not set.
 */
function codexEnvironment(env: Record<string, string>): Record<string, string> {
  const key = env['OPENAI_API_KEY'];
  if ((env['CODEX_API_KEY'] ?? '') !== '' || key === undefined || key === '') return env;
  return { ...env, CODEX_API_KEY: key };
}

/** The model the run asks for: `--model`, else a `model` override; null when Codex picks. */
function modelOf(options: CodexRunnerOptions): string | null {
  const fromConfig = options.config?.['model'];
  return options.model ?? (typeof fromConfig === 'string' ? fromConfig : null);
}

function tomlValue(value: CodexConfigValue): string {
  // A JSON string is a TOML basic string: the same quotes and escapes.
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Whether Codex can authenticate: an API key in the environment, a model provider of the user's
 * own (its `env_key` names its key), or a login stored in CODEX_HOME (`codex login status`).
 */
export async function hasCodexCredentials(
  env: Record<string, string>,
  binary: string,
  config: Record<string, CodexConfigValue>,
): Promise<boolean> {
  if (['OPENAI_API_KEY', 'CODEX_API_KEY'].some((name) => (env[name] ?? '').trim() !== ''))
    return true;
  if (typeof config['model_provider'] === 'string') return true;
  return new Promise((resolve) => {
    execFile(binary, ['login', 'status'], { env, timeout: LOGIN_STATUS_TIMEOUT_MS }, (error) =>
      resolve(error === null),
    );
  });
}

/** `codex`: OpenAI's Codex CLI. */
export const codexKind: AgentKind = {
  apiKeyEnv: 'OPENAI_API_KEY',
  apiKeyInput: 'openai-api-key',
  secretEnv: ['CODEX_API_KEY'],
  describe: (settings) =>
    `codex exec --json --sandbox workspace-write${settings.model === undefined ? '' : ` --model ${settings.model}`}`,
  create: (settings, context) =>
    createCodexRunner({
      binary: settings.binary,
      model: settings.model,
      config: settings.codexConfig,
      extraArgs: settings.extraArgs,
      env: context.env,
      cwd: context.cwd,
      graceMs: settings.graceMs,
    }),
};
