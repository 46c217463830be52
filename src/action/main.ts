/**
 * The action: read the inputs once, build the adapters (runner, Octokit honouring GITHUB_API_URL,
 * forge), run the mode, and turn any error into a failed step with a message and a hint.
 */
import { systemClock } from '../engine/ports/clock.js';
import { ParallelExecutorError } from '../engine/errors.js';
import { createGitHubForge } from '../forge/github.js';
import { createOctokit } from '../forge/octokit.js';
import type { Sleep } from '../forge/policy.js';
import type { RepoForge } from '../forge/types.js';
import { refuseJobTokens, scrubOwnEnvironment } from './credentials.js';
import type { ModeDeps } from './modes/types.js';
import { loadPlanReader } from './plan-reader.js';
import { coreRuntime, type ActionRuntime } from './runtime.js';
import { AGENT_CREDENTIAL_ENV, readSettings, type ActionSettings } from './settings.js';

export interface RunOptions {
  runtime?: ActionRuntime;
  env?: Record<string, string | undefined>;
  /** Replaces the forge built from `github-token` (tests, local runs). */
  forge?: RepoForge | null;
  /** Replaces the forge built from `pr-token`. */
  prForge?: RepoForge | null;
  readPlan?: ModeDeps['readPlan'];
  /** The pause between GitHub writes and before retries; tests make it instant. */
  sleep?: Sleep;
}

export async function run(options: RunOptions = {}): Promise<void> {
  const runtime = options.runtime ?? coreRuntime();
  try {
    const env = options.env ?? process.env;
    const settings = readSettings((name) => runtime.getInput(name), env);
    maskSecrets(runtime, settings);
    if (
      settings.mode === 'integrate' ||
      settings.mode === 'repair' ||
      settings.mode === 'integrate-repairs'
    ) {
      refuseJobTokens(settings.mode === 'repair' ? 'repair' : 'integrate', {
        ...env,
        'INPUT_GITHUB-TOKEN': settings.githubToken,
        'INPUT_PR-TOKEN': settings.prToken ?? '',
      });
    }
    // Agents and integration tests may read the initial environment of this process.
    if (options.env === undefined && settings.mode !== 'plan' && settings.mode !== 'publish') {
      const scrub = scrubOwnEnvironment();
      if (scrub.problem !== null) {
        runtime.annotate(
          'warning',
          `the runner's credentials could not be removed from this process's initial environment (${scrub.problem}): code the action starts may read them`,
        );
      }
    }
    const deps: ModeDeps = {
      runtime,
      forge:
        options.forge === undefined
          ? buildForge(settings.githubToken, settings, runtime, options.sleep)
          : options.forge,
      prForge:
        options.prForge === undefined
          ? buildForge(settings.prToken, settings, runtime, options.sleep)
          : options.prForge,
      readPlan: options.readPlan ?? loadPlanReader,
      clock: systemClock,
      env,
    };
    await runMode(settings, deps);
  } catch (error) {
    runtime.setFailed(describe(error));
  }
}

async function runMode(settings: ActionSettings, deps: ModeDeps): Promise<void> {
  switch (settings.mode) {
    case 'plan':
      await (await import('./modes/plan.js')).runPlanMode(settings, deps);
      return;
    case 'agent':
      await (await import('./modes/agent.js')).runAgentMode(settings, deps);
      return;
    case 'integrate':
      await (await import('./modes/integrate.js')).runIntegrateMode(settings, deps);
      return;
    case 'publish':
      await (await import('./modes/publish.js')).runPublishMode(settings, deps);
      return;
    case 'integrate-repairs':
      await (await import('./modes/integrate-repairs.js')).runIntegrateRepairsMode(settings, deps);
      return;
    case 'repair':
      await (await import('./modes/repair.js')).runRepairMode(settings, deps);
      return;
  }
}

function maskSecrets(runtime: ActionRuntime, settings: ActionSettings): void {
  for (const secret of [
    settings.githubToken,
    settings.prToken,
    ...(settings.mode === 'agent' || settings.mode === 'repair'
      ? [
          settings.anthropicApiKey,
          settings.openAiApiKey,
          ...credentialSecrets(settings.credentials),
        ]
      : []),
  ]) {
    if (secret) runtime.setSecret(secret);
  }
}

/** The credential values (not the region, project or provider switches) to hide in the log. */
function credentialSecrets(credentials: Record<string, string>): string[] {
  return AGENT_CREDENTIAL_ENV.flatMap((name) => credentials[name] ?? []);
}

function buildForge(
  token: string | null,
  settings: ActionSettings,
  runtime: ActionRuntime,
  sleep?: Sleep,
): RepoForge | null {
  if (!token) return null;
  return createGitHubForge({
    octokit: createOctokit({
      token,
      baseUrl: settings.runner.apiUrl,
      logger: runtime.logger,
    }),
    owner: settings.runner.owner,
    repo: settings.runner.repo,
    dryRun: settings.dryRun,
    logger: runtime.logger,
    ...(sleep ? { sleep } : {}),
  });
}

/** The message and, on the next line, what to do about it. */
export function describe(error: unknown): string {
  if (error instanceof ParallelExecutorError)
    return error.hint ? `${error.message}\nhint: ${error.hint}` : error.message;
  if (error instanceof Error) return `unexpected error: ${error.message}`;
  return `unexpected error: ${String(error)}`;
}
