/** Shared by the worktree pool tests: a run with a ledger, clean-up and the invariant checker. */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Plan } from '../../src/engine/plan/schema.js';
import { POOL_DIR } from '../../src/engine/workspace/pool.js';
import { cleanupExecution } from '../../src/engine/cleanup/cleanup.js';
import { agentEnv, scratch, type Recorded, type Scratch } from '../engine/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { AGENT_GIT, LEDGER_COMMIT, runChecked } from './collect-support.js';

/** What the agent sees before it does anything: written to a file and committed with its work. */
export const LOOK =
  'git status --porcelain=v1 --ignored --untracked-files=all > "seen-$PE_TASK_ID.txt"; ' +
  'git rev-parse --abbrev-ref HEAD >> "seen-$PE_TASK_ID.txt"; git log -g --format=%gs HEAD | wc -l | tr -d " " >> "seen-$PE_TASK_ID.txt"; ' +
  'git for-each-ref --format="%(refname)" refs/worktree refs/bisect >> "seen-$PE_TASK_ID.txt"; ' +
  'ls -A | grep -v "^\\.git$" | sort >> "seen-$PE_TASK_ID.txt"';

/** The agent's work: a file committed, plus an untracked and an ignored file left behind. */
export const WORK =
  `echo "$PE_TASK_ID" > "agent-$PE_TASK_ID.txt" && git add "seen-$PE_TASK_ID.txt" "agent-$PE_TASK_ID.txt" && ` +
  `${AGENT_GIT} commit -qm "work of $PE_TASK_ID" && ${LEDGER_COMMIT}; ` +
  'echo scratch > scratch.txt; mkdir -p node_modules/dep && echo built > node_modules/dep/index.js';

/** A repository whose tasks' worktrees can be kept ready: a tracked file and an ignored folder. */
export const POOL_REPO_FILES = {
  '.gitignore': 'node_modules/\n',
  'src/a.ts': 'export const a = 1;\n',
};

/**
 * Run `thePlan` with the pool at `pool` and `command` as every agent, clean-up as asked, then check
 * the invariant against the ledger (whose commits are then forgotten: the next run's check reads
 * its own only, this run's may be merged and deleted).
 */
export async function runPooled(
  repo: TempRepo,
  ledger: Scratch,
  thePlan: Plan,
  command: string,
  options: { cleanUp: boolean; pool: number; worktreeRoot?: string },
) {
  const recorded = await runChecked(repo, ledger.dir, thePlan, command, {
    finish: { cleanUp: options.cleanUp, pool: options.pool },
    settings: { pool: options.pool, worktreeRoot: options.worktreeRoot ?? null },
  });
  for (const name of await readdir(ledger.dir))
    if (name.endsWith('.jsonl')) await rm(join(ledger.dir, name));
  const worktrees = (recorded.finisher.outcome()?.cleanup?.items ?? []).filter(
    (i) => i.kind === 'worktree',
  );
  return {
    ...recorded,
    /** What clean-up did with each worktree, and why: the failure message of a pool check. */
    cleaned: worktrees.map((i) => `${i.taskId}: ${i.action}, ${i.reason}`).join('\n'),
  };
}

/**
 * A process working in a folder that no agent started (an editor, a watcher, someone's shell):
 * the agent asks for it with `outsideProcessIn <folder>` and gets its pid in `$PID_OUT`. It is
 * started by the test, so the engine's look at an agent's process tree never meets it, whatever
 * the timing, and only the pool's own look in /proc can find it there.
 */
export const outsideProcessIn = (folder: string) =>
  `req="$LEDGER/launch-$$"; echo "${folder}" > "$req.tmp" && mv "$req.tmp" "$req"; ` +
  'while [ ! -s "$req.pid" ]; do sleep 0.05; done; PID_OUT=$(cat "$req.pid")';

/** Serves `outsideProcessIn` for a ledger until `stop`; `pids` are its processes (`sleep 120`). */
export function outsideLauncher(ledgerDir: string): { pids: number[]; stop(): void } {
  const pids: number[] = [];
  const timer = setInterval(() => {
    for (const name of readdirSync(ledgerDir)) {
      if (!/^launch-\d+$/.test(name)) continue;
      const req = join(ledgerDir, name);
      const folder = readFileSync(req, 'utf8').trim();
      renameSync(req, `${req}.taken`);
      const child = spawn('sleep', ['120'], { cwd: folder, detached: true, stdio: 'ignore' });
      child.unref();
      pids.push(child.pid!);
      writeFileSync(`${req}.pid.tmp`, String(child.pid));
      renameSync(`${req}.pid.tmp`, `${req}.pid`);
    }
  }, 20);
  return {
    pids,
    stop() {
      clearInterval(timer);
      for (const pid of pids.splice(0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    },
  };
}

/** The pool folder of a repository run with the default worktree root. */
export const poolDirIn = (repo: TempRepo) =>
  join(repo.dir, '.parallel-executor', 'worktrees', POOL_DIR);

/** The names in the pool folder, sorted. */
export const pooledIn = async (repo: TempRepo) =>
  (await readdir(poolDirIn(repo)).catch(() => [] as string[])).sort();

/** The admin folder a worktree's `.git` file names: who made the worktree first. */
export async function adminOf(worktree: string): Promise<string> {
  return (await readFile(join(worktree, '.git'), 'utf8')).replace(/^gitdir: /, '').trim();
}

/**
 * Per test: a repository with POOL_REPO_FILES, a ledger and a scratch folder outside the
 * repository (made by `fresh()`, disposed after the test), and `run` with the pool at `pool`.
 */
export function usePoolRepo(pool: number) {
  const t = {
    repo: undefined as unknown as TempRepo,
    ledger: undefined as unknown as Scratch,
    outside: undefined as unknown as Scratch,
    async fresh(): Promise<void> {
      t.repo = await createTempRepo({ files: POOL_REPO_FILES });
      t.ledger = await scratch();
      t.outside = await scratch();
    },
    run(thePlan: Plan, command: string, options: { cleanUp: boolean; worktreeRoot?: string }) {
      return runPooled(t.repo, t.ledger, thePlan, command, { ...options, pool });
    },
    /** The names in the pool folder, sorted. */
    pooled: () => pooledIn(t.repo),
    /** `parallel-executor clean` of a run's execution, with the pool at `size`. */
    clean(recorded: Recorded, size: number) {
      return cleanupExecution(recorded.state, {
        repoRoot: t.repo.dir,
        executionDir: recorded.executionDir,
        env: agentEnv(),
        pool: size,
      });
    },
  };
  afterEach(async () => {
    await t.repo?.cleanup();
    await t.ledger?.cleanup();
    await t.outside?.cleanup();
  });
  return t;
}

/**
 * `withFakeGit` cases: the checkout (`reset --hard`) of a worktree whose path holds `pathPart`
 * touches the file `started`, then waits until the file `until` exists (20 s at most), so that
 * another task's agent ends while that checkout still runs.
 */
export const holdCheckout = (pathPart: string, started: string, until: string) =>
  `case "$PWD" in *${pathPart}*) case " $* " in *" reset --quiet --hard "*) ` +
  `touch "${started}"; n=0; while [ ! -e "${until}" ] && [ $n -lt 400 ]; ` +
  `do sleep 0.05; n=$((n+1)); done ;; esac ;; esac`;

/**
 * `work` with a `git` first on PATH that runs the shell `cases` (a `case " $* " in ... esac` body:
 * a pattern and what to do, e.g. exit with an error) before the real git.
 */
export async function withFakeGit<T>(cases: string, work: () => Promise<T>): Promise<T> {
  const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
  const bin = await mkdtemp(join(tmpdir(), 'pe-fake-git-'));
  await writeFile(join(bin, 'git'), `#!/bin/sh\n${cases}\nexec "${realGit}" "$@"\n`);
  await chmod(join(bin, 'git'), 0o755);
  const path = process.env['PATH'];
  process.env['PATH'] = `${bin}:${path ?? ''}`;
  try {
    return await work();
  } finally {
    process.env['PATH'] = path;
    await rm(bin, { recursive: true, force: true });
  }
}
