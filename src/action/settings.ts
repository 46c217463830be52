/**
 * The action's inputs and the runner's environment, read once into one validated settings object.
 * Mode-specific requirements (agent mode needs `task`, …) are checked here, so a mode's code can
 * rely on its fields being present.
 */
import { isAbsolute, normalize, resolve } from 'node:path';
import { z } from 'zod';
import { CLAUDE_PERMISSION_MODES, type ClaudeSettings } from '../engine/agents/claude-code.js';
import { AGENT_KIND_NAMES, agentKindChoices, type AgentKindName } from '../engine/agents/kinds.js';
import { UsageError } from '../engine/errors.js';
import { budgetLimits } from '../engine/run/budget.js';
import type { BudgetLimits } from '../engine/run/settings.js';

/** Execution ids and task ids end up in branch and artifact names: keep them to a safe alphabet. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A branch name as refs allow it, without the characters git or a shell would treat specially. */
const SAFE_BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]{1,200}(?<![./])$/;
const Bool = z
  .enum(['true', 'false', 'True', 'False', 'TRUE', 'FALSE', ''])
  .transform((v) => v.toLowerCase() === 'true');

const relativePath = (what: string) =>
  z
    .string()
    .min(1)
    .refine((p) => !isAbsolute(p) && !normalize(p).split(/[\\/]/).includes('..'), {
      message: `must be a path inside the repository (${what})`,
    });

/** The inputs exactly as action.yml names them. */
const Inputs = z.object({
  mode: z.enum(['plan', 'agent', 'integrate', 'publish', 'repair', 'integrate-repairs'], {
    message: 'must be one of plan, agent, integrate, publish, repair, integrate-repairs',
  }),
  plan: relativePath('the plan file'),
  group: z.string(),
  task: z.string(),
  'execution-id': z.string(),
  agent: z.enum(AGENT_KIND_NAMES, { message: `must be ${agentKindChoices()}` }),
  'agent-command': z.string(),
  'anthropic-api-key': z.string(),
  'openai-api-key': z.string(),
  'claude-code-oauth-token': z.string(),
  'use-bedrock': Bool,
  'aws-region': z.string(),
  'aws-access-key-id': z.string(),
  'aws-secret-access-key': z.string(),
  'aws-session-token': z.string(),
  'use-vertex': Bool,
  'vertex-project-id': z.string(),
  'vertex-region': z.string(),
  model: z.string(),
  'fallback-model': z.string(),
  'max-turns': z.string().regex(/^(|[1-9]\d{0,5})$/, { message: 'must be a whole number above 0' }),
  'disallowed-tools': z.string(),
  'append-system-prompt': z.string(),
  'permission-mode': z.enum(['', ...CLAUDE_PERMISSION_MODES], {
    message: `must be one of ${CLAUDE_PERMISSION_MODES.join(', ')}`,
  }),
  'mcp-config': z.string(),
  settings: z.string(),
  'extra-args': z.string(),
  'agent-env': z.string(),
  'bundle-dir': z.string(),
  'github-token': z.string(),
  'pr-token': z.string(),
  'dry-run': Bool,
  tasks: z.string(),
  'app-managed': Bool,
  'pr-number': z.string().regex(/^\d*$/, { message: 'must be a pull request number' }),
  'base-branch': z.string(),
  'result-dir': z.string(),
  'result-upload': z.enum(['', 'success', 'failure', 'cancelled', 'skipped']),
  'budget-usd': z.string(),
  'budget-tokens': z.string(),
});

export const INPUT_NAMES = Object.keys(Inputs.shape) as Array<keyof z.infer<typeof Inputs>>;

/** What the runner tells every step through the environment. */
export interface RunnerContext {
  workspace: string;
  owner: string;
  repo: string;
  apiUrl: string;
  serverUrl: string;
  eventName: string | null;
  eventPath: string | null;
  sha: string | null;
  ref: string | null;
  runId: string | null;
  runAttempt: string | null;
  outputPath: string | null;
  summaryPath: string | null;
  /** `owner/repo/.github/workflows/file.yml@ref` of the running (caller) workflow. */
  workflowRef: string | null;
  /** RUNNER_TEMP: the runner empties it after the job (the OS temp folder is kept). */
  temp: string | null;
}

interface CommonSettings {
  planFile: string;
  /** The plan file's absolute path inside the workspace. */
  planPath: string;
  /** `null`: every pending task. */
  group: string | null;
  /** The exact selection (`tasks` input), or null: the group decides. */
  tasks: string[] | null;
  githubToken: string;
  prToken: string | null;
  dryRun: boolean;
  /**
   * The GitHub App dispatched this run (the workflow passes `app-managed: true` when it got a
   * `correlation-id`): the app owns check runs, the integration PR, the report comment and the
   * next wave, so the action does none of them.
   */
  appManaged: boolean;
  /** The PR the run is for (input, else the triggering event's), for the report comment. */
  pullRequest: number | null;
  /** Where the integration PR goes (input), or null to work it out from the event. */
  baseBranch: string | null;
  runner: RunnerContext;
}

export interface PlanSettings extends CommonSettings {
  mode: 'plan';
  /** Given, or null to make one. */
  executionId: string | null;
}

export interface AgentSettings extends CommonSettings {
  mode: 'agent';
  executionId: string;
  task: string;
  agent: AgentKindName;
  agentCommand: string | null;
  anthropicApiKey: string | null;
  openAiApiKey: string | null;
  /**
   * The agent's credentials besides the API key, as the environment Claude Code reads them
   * (OAuth token, Bedrock, Vertex): the agent gets them, nothing else the job runs does.
   */
  credentials: Record<string, string>;
  /** Claude Code settings given as inputs; each wins over the config's `agent:` field. */
  agentOptions: AgentInputOptions;
  /** Absolute folder this task's bundle is written to. */
  bundleDir: string;
}

/** The Claude Code inputs, and `agent-env`. */
export interface AgentInputOptions extends ClaudeSettings {
  env?: Record<string, string>;
}

/** Environment variables only the agent may hold: dropped from every other process's environment. */
export const AGENT_CREDENTIAL_ENV = [
  'CLAUDE_CODE_OAUTH_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_BEARER_TOKEN_BEDROCK',
] as const;

export interface IntegrateSettings extends CommonSettings {
  mode: 'integrate';
  executionId: string;
  /** Absolute folder holding one sub-folder per task (`agent-<task>`), as download-artifact lays them out. */
  bundleDir: string;
  /** Absolute folder the result (bundle, state, report, test logs) is written to, for the workflow to upload. */
  resultDir: string;
  /** The legs' agent kind: repairs default to off for `command` (`integration.repair`). */
  agent: AgentKindName;
}

export interface PublishSettings extends CommonSettings {
  mode: 'publish';
  executionId: string;
  /** The run's budget, checked between waves (`budget-usd`, `budget-tokens`); null: none. */
  budget: BudgetLimits | null;
  /** Absolute folder holding the integrate job's result, as download-artifact lays it out. */
  resultDir: string;
  /**
   * How the step that uploaded that result ended in the job that made it (`result-upload`, the
   * step's outcome), or null when the workflow does not say: anything but success means the
   * artifact under the result's name is not that job's.
   */
  resultUpload: string | null;
}

/**
 * Repair mode (a matrix leg like an agent leg, no token): the agent's settings, and the integrate
 * job's result to start from; the repaired branch's bundle goes to `bundleDir`.
 */
export interface RepairSettings extends Omit<AgentSettings, 'mode'> {
  mode: 'repair';
  /** Absolute folder holding the integrate job's result, as download-artifact lays it out. */
  resultDir: string;
}

/**
 * Integrate-repairs mode (no token): the integrate job's result in `resultDir` (rewritten there
 * with the repairs that landed), the repair legs' bundles in `bundleDir` (`repair-<task>`).
 */
export interface IntegrateRepairsSettings extends Omit<IntegrateSettings, 'mode'> {
  mode: 'integrate-repairs';
}

export type ActionSettings =
  | PlanSettings
  | AgentSettings
  | IntegrateSettings
  | PublishSettings
  | RepairSettings
  | IntegrateRepairsSettings;

export type GetInput = (name: string) => string;

/** Defaults as action.yml declares them, for inputs read outside a runner (the runner fills them in). */
const DEFAULTS: Record<string, string> = {
  plan: 'MULTI_AGENT_PLAN.md',
  agent: 'claude-code',
  'dry-run': 'false',
  'use-bedrock': 'false',
  'use-vertex': 'false',
  'bundle-dir': 'parallel-executor-bundles',
  'app-managed': 'false',
  'result-dir': '.parallel-executor/result',
};

/** Reads `INPUT_<NAME>` the way `@actions/core` does (spaces → `_`, upper case, trimmed). */
export function inputsFromEnv(env: Record<string, string | undefined>): GetInput {
  return (name) => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

export function readSettings(
  getInput: GetInput,
  env: Record<string, string | undefined>,
): ActionSettings {
  const raw = Object.fromEntries(
    INPUT_NAMES.map((name) => [name, getInput(name) || DEFAULTS[name] || '']),
  );
  const parsed = Inputs.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'inputs');
    throw new UsageError(
      `input "${name}" ${issue.message}${name === 'mode' ? `, got "${raw.mode}"` : ''}`,
      'See action.yml (or the README) for the inputs and their accepted values.',
    );
  }
  const inputs = parsed.data;
  const runner = readRunner(env);
  const common: CommonSettings = {
    planFile: inputs.plan,
    planPath: resolve(runner.workspace, inputs.plan),
    group: inputs.group || null,
    tasks: readTaskList(inputs.tasks),
    githubToken: inputs['github-token'],
    prToken: inputs['pr-token'] || null,
    dryRun: inputs['dry-run'],
    appManaged: inputs['app-managed'],
    pullRequest: inputs['pr-number'] ? Number(inputs['pr-number']) : null,
    baseBranch: inputs['base-branch'] || null,
    runner,
  };
  if (common.baseBranch !== null && !SAFE_BRANCH.test(common.baseBranch)) {
    throw usage('base-branch', 'must be a branch name (letters, digits, "/", ".", "_", "-")');
  }
  if (common.group !== null && !SAFE_ID.test(common.group) && common.group !== 'all') {
    throw usage(
      'group',
      'must be a group id as the plan writes it (letters, digits, ".", "_", "-") or "all"',
    );
  }
  if (common.group === 'all') common.group = null;
  const executionId = inputs['execution-id'] || null;
  if (executionId !== null) requireSafe('execution-id', executionId);
  if (inputs.mode === 'plan') return { ...common, mode: 'plan', executionId };
  if (executionId === null)
    throw usage('execution-id', `is required in ${inputs.mode} mode (pass the plan job's output)`);
  const bundleDir = resolve(runner.workspace, inputs['bundle-dir']);
  const resultDir = resolve(runner.workspace, inputs['result-dir']);
  if (inputs.mode === 'integrate' || inputs.mode === 'integrate-repairs') {
    const integrate = { ...common, executionId, bundleDir, resultDir, agent: inputs.agent };
    return inputs.mode === 'integrate'
      ? { ...integrate, mode: 'integrate' }
      : { ...integrate, mode: 'integrate-repairs' };
  }
  if (inputs.mode === 'publish') {
    const budget = budgetLimits(
      { usd: inputs['budget-usd'] || undefined, tokens: inputs['budget-tokens'] || undefined },
      (key) => `input "budget-${key}"`,
    );
    const resultUpload = inputs['result-upload'] || null;
    return { ...common, mode: 'publish', executionId, resultDir, resultUpload, budget };
  }
  if (!inputs.task)
    throw usage(
      'task',
      `is required in ${inputs.mode} mode (the matrix leg passes \`matrix.task\`)`,
    );
  requireSafe('task', inputs.task);
  if (inputs.agent === 'command' && !inputs['agent-command']) {
    throw usage('agent-command', 'is required when agent is "command"');
  }
  const agent: AgentSettings = {
    ...common,
    mode: 'agent',
    executionId,
    task: inputs.task,
    agent: inputs.agent,
    agentCommand: inputs['agent-command'] || null,
    anthropicApiKey: inputs['anthropic-api-key'] || null,
    openAiApiKey: inputs['openai-api-key'] || null,
    credentials: readCredentials(inputs, env),
    agentOptions: readAgentOptions(inputs),
    bundleDir,
  };
  return inputs.mode === 'repair' ? { ...agent, mode: 'repair', resultDir } : agent;
}

type ParsedInputs = z.infer<typeof Inputs>;

/**
 * The other ways Claude Code authenticates: an OAuth token, Amazon Bedrock, Google Vertex AI. An
 * input wins; else a credential the job's environment holds (aws-actions/configure-aws-credentials
 * sets them) is moved to the agent alone.
 */
function readCredentials(
  inputs: ParsedInputs,
  ambient: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  const set = (name: string, value: string) => {
    const given = value !== '' ? value : (ambient[name] ?? '');
    if (given !== '') env[name] = given;
  };
  set('CLAUDE_CODE_OAUTH_TOKEN', inputs['claude-code-oauth-token']);
  if (inputs['use-bedrock'] && inputs['use-vertex']) {
    throw usage('use-bedrock', 'and "use-vertex" cannot both be true: pick one provider');
  }
  if (inputs['use-bedrock']) {
    env['CLAUDE_CODE_USE_BEDROCK'] = '1';
    set('AWS_REGION', inputs['aws-region']);
    set('AWS_ACCESS_KEY_ID', inputs['aws-access-key-id']);
    set('AWS_SECRET_ACCESS_KEY', inputs['aws-secret-access-key']);
    set('AWS_SESSION_TOKEN', inputs['aws-session-token']);
  }
  if (inputs['use-vertex']) {
    if (inputs['vertex-project-id'] === '') {
      throw usage('vertex-project-id', 'is required with use-vertex (the Google Cloud project)');
    }
    env['CLAUDE_CODE_USE_VERTEX'] = '1';
    set('ANTHROPIC_VERTEX_PROJECT_ID', inputs['vertex-project-id']);
    set('CLOUD_ML_REGION', inputs['vertex-region']);
  }
  return env;
}

function readAgentOptions(inputs: ParsedInputs): AgentInputOptions {
  const text = (value: string) => (value === '' ? undefined : value);
  const lines = (value: string, separators: RegExp) => {
    const items = value
      .split(separators)
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return items.length === 0 ? undefined : items;
  };
  const assignments = lines(inputs['agent-env'], /\n/);
  return {
    model: text(inputs.model),
    fallbackModel: text(inputs['fallback-model']),
    maxTurns: inputs['max-turns'] === '' ? undefined : Number(inputs['max-turns']),
    disallowedTools: lines(inputs['disallowed-tools'], /[\n,]/),
    appendSystemPrompt: text(inputs['append-system-prompt']),
    permissionMode: inputs['permission-mode'] === '' ? undefined : inputs['permission-mode'],
    mcpConfig: text(inputs['mcp-config']),
    settings: text(inputs.settings),
    // One argument a line: a value with spaces stays one argument, and no shell is involved.
    extraArgs: lines(inputs['extra-args'], /\n/),
    env:
      assignments === undefined ? undefined : Object.fromEntries(assignments.map(readAssignment)),
  };
}

/** `NAME=value` (a line of the `agent-env` input); the error does not repeat a value. */
function readAssignment(line: string, index: number): [string, string] {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  if (match === null) throw usage('agent-env', `line ${index + 1} is not NAME=value`);
  return [match[1]!, match[2]!];
}

function readRunner(env: Record<string, string | undefined>): RunnerContext {
  const repository = env.GITHUB_REPOSITORY ?? '';
  const [owner, repo, ...rest] = repository.split('/');
  if (!owner || !repo || rest.length > 0) {
    throw new UsageError(
      `GITHUB_REPOSITORY is "${repository}", expected "owner/name"`,
      'Run the action in a GitHub Actions job (the runner sets GITHUB_REPOSITORY).',
    );
  }
  const workspace = env.GITHUB_WORKSPACE;
  if (!workspace) {
    throw new UsageError(
      'GITHUB_WORKSPACE is not set',
      'Run the action in a GitHub Actions job after actions/checkout.',
    );
  }
  const orNull = (value: string | undefined) => (value ? value : null);
  return {
    workspace,
    owner,
    repo,
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    serverUrl: (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, ''),
    eventName: orNull(env.GITHUB_EVENT_NAME),
    eventPath: orNull(env.GITHUB_EVENT_PATH),
    sha: orNull(env.GITHUB_SHA),
    ref: orNull(env.GITHUB_REF),
    runId: orNull(env.GITHUB_RUN_ID),
    runAttempt: orNull(env.GITHUB_RUN_ATTEMPT),
    outputPath: orNull(env.GITHUB_OUTPUT),
    summaryPath: orNull(env.GITHUB_STEP_SUMMARY),
    workflowRef: orNull(env.GITHUB_WORKFLOW_REF),
    temp: orNull(env.RUNNER_TEMP),
  };
}

/** `1.1, 1.2` → `['1.1', '1.2']`; empty → null (no exact selection). */
function readTaskList(text: string): string[] | null {
  const ids = text
    .split(/[\s,]+/)
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  if (ids.length === 0) return null;
  for (const id of ids) requireSafe('tasks', id);
  return [...new Set(ids)];
}

function requireSafe(name: string, value: string): void {
  if (!SAFE_ID.test(value)) {
    throw usage(
      name,
      `"${value}" must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}

function usage(name: string, message: string): UsageError {
  return new UsageError(
    `input "${name}" ${message}`,
    'See action.yml (or the README) for the inputs.',
  );
}
