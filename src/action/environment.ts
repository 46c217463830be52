/**
 * The environment the action hands to processes it does not trust: agents, the checks an agent's
 * code may have rewritten, and integration tests. A runner gives a JavaScript action its inputs
 * (tokens included) as `INPUT_*`, the Actions runtime tokens (artifact and cache upload, OIDC) as
 * `ACTIONS_*`, and the paths of the files that set outputs, env and PATH of later steps. None of
 * that reaches such a process.
 */

import type { AgentKind } from '../engine/agents/kind.js';
import { AGENT_KINDS } from '../engine/agents/kinds.js';
import { AGENT_CREDENTIAL_ENV } from './settings.js';

const DROPPED_PREFIXES = ['INPUT_', 'ACTIONS_', 'PE_'];

const DROPPED = new Set([
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_OUTPUT',
  'GITHUB_STATE',
  'GITHUB_STEP_SUMMARY',
  // Every agent kind's API key and Claude Code's other credentials: only the agent gets them
  // (withApiKey, the agent settings' credentials).
  ...Object.values(AGENT_KINDS).flatMap((kind) => [
    ...(kind.apiKeyEnv === null ? [] : [kind.apiKeyEnv]),
    ...(kind.secretEnv ?? []),
  ]),
  ...AGENT_CREDENTIAL_ENV,
  // git would read these instead of the repository's own settings.
  'GIT_CONFIG_COUNT',
  'GIT_CONFIG_PARAMETERS',
]);

export function untrustedEnvironment(
  env: Record<string, string | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || DROPPED.has(key)) continue;
    if (DROPPED_PREFIXES.some((prefix) => key.startsWith(prefix))) continue;
    if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(key)) continue;
    out[key] = value;
  }
  return out;
}

/** The agent's environment: the untrusted one, plus the API key under the variable its kind reads. */
export function withApiKey(
  env: Record<string, string>,
  kind: AgentKind,
  apiKey: string | null,
): Record<string, string> {
  if (apiKey === null || apiKey === '' || kind.apiKeyEnv === null) return env;
  return { ...env, [kind.apiKeyEnv]: apiKey };
}
