/**
 * Pushing with the job's token to the remote the checkout configured (`origin`). The token goes to
 * git as an `http.<server>/.extraheader` through GIT_CONFIG_* environment variables, not argv:
 * argv is readable by every process on the machine (/proc/<pid>/cmdline) and ends up in error
 * messages; the environment is neither. The header is sent only to the GitHub server
 * (GITHUB_SERVER_URL), and replaces any header the checkout persisted rather than doubling it.
 * Never forced: a task branch or integration branch that moved elsewhere is rejected, not lost.
 * It runs in the publish job, which runs nothing from the repository: no pre-push hook
 * (`--no-verify`, and hooks switched off altogether).
 */
import { safeGit } from './safe-git.js';

export const REMOTE = 'origin';

export interface PushAuth {
  /** `https://github.com` or the GHES URL (GITHUB_SERVER_URL). */
  serverUrl: string;
  token: string | null;
  /** The environment git runs with (the step's). */
  env: Record<string, string | undefined>;
}

export interface PushRef {
  /** Local ref or commit. */
  source: string;
  /** Branch name on the remote. */
  branch: string;
}

export interface PushOutcome {
  branch: string;
  ok: boolean;
  /** git's words: `[new branch]`, `[up to date]`, `[rejected] (non-fast-forward)`… */
  summary: string;
}

export async function pushBranches(
  root: string,
  refs: readonly PushRef[],
  auth: PushAuth,
): Promise<PushOutcome[]> {
  if (refs.length === 0) return [];
  const url = (await safeGit(root, ['remote', 'get-url', REMOTE])).stdout.trim();
  const env = await pushEnvironment(url, auth);
  const result = await safeGit(
    root,
    [
      'push',
      '--porcelain',
      '--no-verify',
      REMOTE,
      ...refs.map((ref) => `${ref.source}:refs/heads/${ref.branch}`),
    ],
    { env, allowExitCodes: [1, 128] },
  );
  const outcomes = parsePorcelain(result.stdout);
  return refs.map(
    (ref) =>
      outcomes.get(`refs/heads/${ref.branch}`) ?? {
        branch: ref.branch,
        ok: false,
        summary: lastLine(result.stderr) || `git push exited ${result.exitCode}`,
      },
  );
}

async function pushEnvironment(url: string, auth: PushAuth): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(auth.env)) if (value !== undefined) env[key] = value;
  const server = auth.serverUrl.replace(/\/+$/, '');
  if (!auth.token || !/^https?:\/\//.test(server) || !url.startsWith(`${server}/`)) return env;
  const basic = Buffer.from(`x-access-token:${auth.token}`).toString('base64');
  const key = `http.${server}/.extraheader`;
  return {
    ...env,
    GIT_CONFIG_COUNT: '2',
    // An empty value clears the header list (actions/checkout may have persisted one).
    GIT_CONFIG_KEY_0: key,
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: key,
    GIT_CONFIG_VALUE_1: `AUTHORIZATION: basic ${basic}`,
  };
}

/** `<flag>\t<from>:<to>\t<summary>` per ref; `!` rejected, `=` up to date, `*` new, ` ` fast-forward. */
function parsePorcelain(stdout: string): Map<string, PushOutcome> {
  const outcomes = new Map<string, PushOutcome>();
  for (const line of stdout.split('\n')) {
    const match = /^([ +\-*=!])\t[^:\t]*:([^\t]+)\t(.*)$/.exec(line);
    if (!match) continue;
    const [, flag, to, summary] = match as unknown as [string, string, string, string];
    outcomes.set(to, {
      branch: to.replace(/^refs\/heads\//, ''),
      ok: flag !== '!',
      summary: summary.trim(),
    });
  }
  return outcomes;
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** The base64 form of the header carries the token too: mask it as well. */
export function pushSecrets(token: string | null): string[] {
  if (!token) return [];
  return [Buffer.from(`x-access-token:${token}`).toString('base64')];
}
