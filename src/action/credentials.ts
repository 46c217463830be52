/**
 * Keeping credentials away from the code the agent and integrate jobs run (agents, the checks an
 * agent may have rewritten, integration tests on merged agent code). Filtering the children's
 * environment is not enough: on Linux a process reads its parent's *initial* environment from
 * `/proc/<ppid>/environ`, and the action's own process started with the runner's variables, tokens
 * included. So:
 *
 * - integrate mode refuses to run at all when it was given a job token (`github-token`,
 *   `pr-token`, `GITHUB_TOKEN`, `GH_TOKEN`, an OIDC request token): such a token belongs to the
 *   publish job, and a job that runs agent code must not hold one — wherever the action hid it,
 *   the job would still have it;
 * - the credentials a runner hands every JavaScript action whatever the workflow says (the Actions
 *   runtime token, which writes this run's artifacts and the cache) and the secret inputs are
 *   overwritten in place in the process's initial environment block (through /proc/self/mem), so
 *   `/proc/<pid>/environ` no longer shows them, and removed from `process.env`.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { statFields } from '../engine/agents/proc.js';
import { UsageError } from '../engine/errors.js';

/** A token that can act on the repository: a job that runs agent code must not be given one. */
const JOB_TOKENS = [
  'INPUT_GITHUB-TOKEN',
  'INPUT_PR-TOKEN',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
] as const;

/** Secrets scrubbed from the action's own environment before it starts untrusted code. */
const SCRUBBED = [...JOB_TOKENS, 'INPUT_ANTHROPIC-API-KEY', 'ACTIONS_RUNTIME_TOKEN'] as const;

/** The names of the job tokens present (non-empty) in `env`. */
export function jobTokensIn(env: Record<string, string | undefined>): string[] {
  return JOB_TOKENS.filter((name) => (env[name] ?? '').trim() !== '');
}

const RUNS: Record<'integrate' | 'repair', string> = {
  integrate: 'runs the integration tests on agent-written code',
  repair: 'runs an agent on the integration branch',
};

/** Integrate and repair modes: refuse, saying what to change, when the step holds a token. */
export function refuseJobTokens(
  mode: 'integrate' | 'repair',
  env: Record<string, string | undefined>,
): void {
  const found = jobTokensIn(env);
  if (found.length === 0) return;
  throw new UsageError(
    `${mode} mode ${RUNS[mode]} and must hold no token, but it was given ${found.join(', ')}; nothing was run`,
    `Pass \`github-token: ''\` (and no pr-token) to the ${mode} step and give it \`permissions: contents: read\`; the publish job holds the token (see .github/workflows/parallel-run.yml).`,
  );
}

export interface ScrubResult {
  /** Variables overwritten in the initial environment block. */
  scrubbed: string[];
  /** Why the block could not be rewritten (not Linux, no /proc); null when it was. */
  problem: string | null;
}

/**
 * Overwrite the values of the secret variables in this process's initial environment block with
 * NUL bytes, then delete them from `process.env`. Only for the real process (`process.env`):
 * an in-process caller with its own environment has nothing to scrub.
 */
export function scrubOwnEnvironment(): ScrubResult {
  const present = SCRUBBED.filter((name) => process.env[name] !== undefined);
  let result: ScrubResult;
  try {
    result = { scrubbed: overwriteInitialEnvironment(new Set(present)), problem: null };
  } catch (error) {
    result = { scrubbed: [], problem: (error as Error).message };
  }
  for (const name of present) delete process.env[name];
  return result;
}

/** `env_start` and `env_end` are fields 50 and 51 of /proc/self/stat (proc(5)). */
function environmentBlock(): { start: number; end: number } {
  const fields = statFields('self');
  if (fields === null) throw new Error('no /proc/self/stat');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) {
    throw new Error('no environment block in /proc/self/stat');
  }
  return { start, end };
}

function overwriteInitialEnvironment(names: ReadonlySet<string>): string[] {
  if (names.size === 0) return [];
  const { start, end } = environmentBlock();
  const fd = openSync('/proc/self/mem', 'r+');
  try {
    const block = Buffer.alloc(end - start);
    readSync(fd, block, 0, block.length, start);
    const done: string[] = [];
    let offset = 0;
    while (offset < block.length) {
      const stop = block.indexOf(0, offset);
      const entryEnd = stop === -1 ? block.length : stop;
      const entry = block.subarray(offset, entryEnd);
      const equals = entry.indexOf(0x3d);
      const name = equals === -1 ? '' : entry.subarray(0, equals).toString('utf8');
      if (names.has(name) && entry.length > equals + 1) {
        const value = Buffer.alloc(entry.length - equals - 1);
        writeSync(fd, value, 0, value.length, start + offset + equals + 1);
        done.push(name);
      }
      offset = entryEnd + 1;
    }
    return done;
  } finally {
    closeSync(fd);
  }
}
