import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { runStep, type Remote, type StepResult } from './runner.js';

export interface LegDirs {
  /** This test's directory (real path): remote, workspaces and bundles go in it. */
  readonly dir: string;
  /** `dir/home`, the step's HOME. */
  readonly home: string;
  /** Starts a scripted model with `start(script)`, to be closed after the test. */
  startModel<S, T extends { close(): Promise<void> }>(
    start: (script: S) => Promise<T>,
    script: S,
  ): Promise<T>;
  /** Runs an agent leg (`mode: agent`, execution `pe-1-1`) of `remote` at its head in this dir. */
  runLeg(options: {
    remote: Remote;
    inputs: Record<string, string>;
    env?: Record<string, string>;
  }): Promise<StepResult>;
}

/**
 * Registers `beforeEach`/`afterEach` for action step tests: a fresh temp directory with a `home`
 * in it, git config isolated from the machine's, and `process.env` and the servers restored or
 * closed after each test.
 */
export function useLegDirs(prefix: string): LegDirs {
  let dir: string | null = null;
  const servers: { close(): Promise<void> }[] = [];
  const saved = { ...process.env };
  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
    await mkdir(join(dir, 'home'));
    Object.assign(process.env, { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' });
  });
  afterEach(async () => {
    process.env = { ...saved };
    await Promise.all(servers.splice(0).map((server) => server.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });
  const legs: LegDirs = {
    get dir() {
      if (!dir) throw new Error('useLegDirs: the directory exists only inside a test');
      return dir;
    },
    get home() {
      return join(legs.dir, 'home');
    },
    async startModel(start, script) {
      const server = await start(script);
      servers.push(server);
      return server;
    },
    runLeg: ({ remote, inputs, env }) =>
      runStep({
        dir: legs.dir,
        home: legs.home,
        remote,
        name: 'leg',
        ref: remote.sha,
        inputs: { mode: 'agent', 'execution-id': 'pe-1-1', ...inputs },
        ...(env ? { env } : {}),
      }),
  };
  return legs;
}
