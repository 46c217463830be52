/**
 * Orchestration overhead: 8 tasks whose agents each sleep a fixed time, run by
 * `parallel-executor`'s engine (pre-flight, worktrees, context, agents, state, collection), against
 * the same sleeps started with `xargs -P 8` in pre-made worktrees — both measured in this run,
 * alternating, medians reported. Then the same with agents that also write a file each, so that
 * collection has work to commit (what real agents leave). Each also as the second run in a
 * repository whose first run kept its worktrees ready (`workspace.pool`). And the floor: the same
 * xargs doing only what any tool that gives each agent a branch and takes its work back must do.
 * Run: npx tsx bench/overhead.ts [sleepSeconds=2] [rounds=3]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { cleanupExecution } from '../src/engine/cleanup/cleanup.js';
import { runExecution } from '../src/engine/run/orchestrator.js';
import { createMutex } from '../src/engine/workspace/mutex.js';
import { addWorktree } from '../src/engine/workspace/worktree.js';
import { git } from '../src/engine/workspace/git-exec.js';
import type { Plan } from '../src/engine/plan/schema.js';
import { task } from '../test/engine/helpers.js';
import { createTempRepo } from '../test/support/git-repo.js';

const sleepSeconds = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 3);
const TASKS = 8;

function benchPlan(): Plan {
  const tasks = Array.from({ length: TASKS }, (_, i) =>
    task(`${i + 1}`, { title: `Bench task ${i + 1}`, estimateHours: null, line: i + 1 }),
  );
  return { title: 'bench', groups: [], tasks };
}

/** What each agent runs: a sleep, and with `write`, one new file in its worktree after it. */
const agentCommand = (write: boolean) =>
  `sleep ${sleepSeconds}${write ? ' && echo done > "agent-$PE_TASK_ID.txt"' : ''}`;

/** One run on `dir`, timed; with `pool`, its worktrees are parked after (not timed). */
async function timedRun(dir: string, write: boolean, pool: number): Promise<number> {
  const env = { PATH: process.env['PATH'] ?? '' };
  const started = performance.now();
  const result = await runExecution({
    cwd: dir,
    plan: benchPlan(),
    planFile: join(dir, 'MULTI_AGENT_PLAN.md'),
    group: 'all',
    runner: createCommandRunner({ command: agentCommand(write) }),
    env,
    settings: { minFreeDiskMb: 0, pool },
  });
  const elapsed = performance.now() - started;
  if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
  if (pool > 0) {
    const cleaned = await cleanupExecution(result.state, {
      repoRoot: dir,
      executionDir: result.executionDir,
      env,
      force: true,
      pool,
    });
    if (cleaned.errors > 0) throw new Error('clean-up failed');
  }
  return elapsed;
}

async function orchestrated(write: boolean): Promise<number> {
  const repo = await freshRepo();
  return timedRun(repo.dir, write, 0);
}

/**
 * The second run in a repository whose first run's clean-up kept its 8 worktrees ready
 * (`workspace.pool: 8`): what the baseline's pre-made worktrees are to xargs.
 */
async function orchestratedWarm(write: boolean): Promise<number> {
  const repo = await freshRepo();
  await timedRun(repo.dir, write, TASKS);
  return timedRun(repo.dir, write, TASKS);
}

/** The xargs run; also returns how long making its worktrees took (untimed for xargs itself). */
async function baseline(write: boolean): Promise<{ run: number; worktrees: number }> {
  const repo = await freshRepo();
  {
    const dirs = Array.from({ length: TASKS }, (_, i) => join(repo.dir, '.wt', `t${i + 1}`));
    const lock = createMutex();
    const made = performance.now();
    // The way the engine makes them: branches one at a time, worktrees in parallel.
    await Promise.all(dirs.map((dir, i) => addWorktree(repo.dir, dir, `b${i + 1}`, 'HEAD', lock)));
    const worktrees = performance.now() - made;
    const run = await xargsIn(dirs, agentCommand(write));
    return { run, worktrees };
  }
}

/**
 * The least any tool does that gives each agent its own branch and takes its work back, run the
 * way xargs runs the baseline (shell, no Node): in the same pre-made worktrees, each first checks
 * out a branch of its own, then the agent's command, then reads the worktree's status and HEAD,
 * and with `write` commits what the agent left. No pre-flight, state, logs or safety look: a
 * floor, not a tool.
 */
async function floor(write: boolean): Promise<number> {
  const repo = await freshRepo();
  const dirs = Array.from({ length: TASKS }, (_, i) => join(repo.dir, '.wt', `f${i + 1}`));
  for (const dir of dirs) await git(repo.dir, ['worktree', 'add', '--quiet', '--detach', dir]);
  const collect = write
    ? 'git add -A && git -c user.name=b -c user.email=b@b commit --quiet -m done'
    : 'true';
  return xargsIn(
    dirs,
    `git checkout --quiet --force -B "task-$PE_TASK_ID" && ${agentCommand(write)} && git status --porcelain >/dev/null && ${collect} && git rev-parse HEAD >/dev/null`,
  );
}

/** `script` run by `xargs -P` once in each of `dirs` (its task id the folder's name), timed. */
async function xargsIn(dirs: readonly string[], script: string): Promise<number> {
  const started = performance.now();
  const child = spawn(
    'xargs',
    [
      '-0',
      '-P',
      String(TASKS),
      '-I{}',
      'sh',
      '-c',
      `cd "$1" && PE_TASK_ID="$(basename "$1")" && ${script}`,
      '_',
      '{}',
    ],
    { stdio: ['pipe', 'inherit', 'inherit'] },
  );
  child.stdin.end(`${dirs.join('\0')}\0`);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`xargs exited ${code}`);
  return performance.now() - started;
}

/**
 * Every repository of the run is removed at its end, not after its round. Removing thousands of
 * files makes ext4 without a journal (this machine's disk) skip each inode freed in the last
 * minute (five while its table block is dirty) when it allocates one, checking each in turn:
 * creating a file then costs 0.3-0.7 ms instead of 0.02 ms, for every checkout of the next
 * rounds. That is the bench's own doing, not the product's; the plain `git worktree add` figure
 * shows which disk a run met (a test suite run just before slows it the same way).
 */
const made: Array<{ cleanup(): Promise<void> }> = [];
async function freshRepo() {
  const repo = await createTempRepo({ files: sampleFiles() });
  made.push(repo);
  return repo;
}

/** A small but real project: 200 files. */
function sampleFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i += 1) files[`src/module${i}.ts`] = `export const v${i} = ${i};\n`;
  return files;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Plain `git worktree add` of the same repository, all at once: what checkouts cost here. Git
 * itself can fail one of them when they race (`failed to read .git/worktrees/<name>/commondir`):
 * those are made again after, and the time counts.
 */
async function plainWorktrees(): Promise<number> {
  const repo = await freshRepo();
  {
    const add = (i: number) =>
      git(repo.dir, [
        'worktree',
        'add',
        '--quiet',
        '-b',
        `plain-${i}`,
        join(repo.dir, '.wt', `p${i}`),
      ]);
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: TASKS }, (_, i) => add(i)));
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') {
        await git(repo.dir, ['worktree', 'prune']);
        await git(repo.dir, ['branch', '-D', `plain-${i}`], { allowExitCodes: [1] });
        await add(i);
      }
    }
    return performance.now() - started;
  }
}

async function measure(write: boolean): Promise<void> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const making: number[] = [];
  const plain: number[] = [];
  const warm: number[] = [];
  const least: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const base = await baseline(write);
    theirs.push(base.run);
    making.push(base.worktrees);
    plain.push(await plainWorktrees());
    ours.push(await orchestrated(write));
    warm.push(await orchestratedWarm(write));
    least.push(await floor(write));
  }
  const a = median(ours);
  const b = median(theirs);
  const w = median(making);
  const plainAdd = median(plain);
  console.log(
    `${TASKS} agents sleeping ${sleepSeconds}s each${write ? ' then writing a file' : ''}, ${rounds} rounds (medians):`,
  );
  console.log(`  xargs -P ${TASKS} in pre-made worktrees  ${(b / 1000).toFixed(2)} s`);
  console.log(`  parallel-executor run               ${(a / 1000).toFixed(2)} s`);
  console.log(
    `  ratio ${(a / b).toFixed(2)}x (target ≤ 1.05x), overhead ${((a - b) / 1000).toFixed(2)} s`,
  );
  console.log(
    `  of which making ${TASKS} worktrees of ${Object.keys(sampleFiles()).length} files: ${(w / 1000).toFixed(2)} s (measured apart; ${TASKS} plain parallel git worktree add take ${(plainAdd / 1000).toFixed(2)} s here, the floor for any tool that gives each agent a checkout); the rest (pre-flight, context, state, collection): ${((a - b - w) / 1000).toFixed(2)} s`,
  );
  console.log(
    `  without the worktrees (run minus making them, against xargs): ${((a - w) / b).toFixed(2)}x`,
  );
  const p = median(warm);
  console.log(
    `  with worktrees kept ready by the previous run (workspace.pool: ${TASKS}): ${(p / 1000).toFixed(2)} s = ${(p / b).toFixed(2)}x, overhead ${((p - b) / 1000).toFixed(2)} s`,
  );
  const f = median(least);
  console.log(
    `  floor: the same xargs, each first checking out a branch of its own and after reading its status and HEAD${write ? ' and committing what it wrote' : ''} (no Node, no pre-flight, state or safety look): ${(f / 1000).toFixed(2)} s = ${(f / b).toFixed(2)}x; the pooled run is ${(p / f).toFixed(2)}x of it`,
  );
}

try {
  await measure(false);
  await measure(true);
} finally {
  for (const repo of made) await repo.cleanup();
}
