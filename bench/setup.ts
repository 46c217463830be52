/**
 * Workspace set-up and clean-up on a big repository: `parallel-executor run` of 8 tasks whose
 * agents write one file (no validation, no integration), from the call to the last agent starting,
 * against 8 parallel `git worktree add` of the same repository; then the execution's clean-up
 * against 8 parallel `git worktree remove`. Both measured in this run, on the same repository.
 * Run: npx tsx bench/setup.ts [files=30000] [tasks=8] [rounds=4]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCommandRunner } from '../src/engine/agents/command.js';
import { cleanupExecution } from '../src/engine/cleanup/cleanup.js';
import { runExecution } from '../src/engine/run/orchestrator.js';
import { git } from '../src/engine/workspace/git-exec.js';
import type { Plan } from '../src/engine/plan/schema.js';
import { task } from '../test/engine/helpers.js';
import { createTempRepo, type TempRepo } from '../test/support/git-repo.js';

const fileCount = Number(process.argv[2] ?? 30_000);
const tasks = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 4);
const env = { PATH: process.env['PATH'] ?? '' };

async function bigRepo(): Promise<TempRepo> {
  const repo = await createTempRepo({ files: { 'README.md': 'bench\n' } });
  const perDir = 100;
  for (let d = 0; d * perDir < fileCount; d += 1) {
    const dir = join(repo.dir, 'src', `pkg${d}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * perDir; i < Math.min(fileCount, (d + 1) * perDir); i += 1) {
      writes.push(writeFile(join(dir, `m${i}.ts`), `export const v${i} = ${i};\n`));
    }
    await Promise.all(writes);
  }
  await repo.commit('many files');
  return repo;
}

/** Plain git, everything at once: the floor for making the worktrees. Returns them and the time. */
async function gitAdd(repo: TempRepo, round: number): Promise<{ dirs: string[]; add: number }> {
  const dirs = Array.from({ length: tasks }, (_, i) =>
    join(repo.dir, '..', `${repo.dir.split('/').pop()}-wt${round}-${i}`),
  );
  const add = async (dir: string, i: number): Promise<void> => {
    try {
      await git(repo.dir, ['worktree', 'add', '--quiet', '-b', `plain-${round}-${i}`, dir, 'HEAD']);
    } catch (error) {
      // Git's own race between parallel adds ("failed to read .git/worktrees/<other>/commondir"):
      // the engine retries it too, so the baseline does, from scratch.
      if (!String(error).includes('commondir')) throw error;
      await rm(dir, { recursive: true, force: true });
      await git(repo.dir, ['worktree', 'prune']);
      await git(repo.dir, ['branch', '-q', '-D', `plain-${round}-${i}`], { allowExitCodes: [1] });
      await add(dir, i);
    }
  };
  const started = performance.now();
  await Promise.all(dirs.map(add));
  return { dirs, add: performance.now() - started };
}

/** Plain git, everything at once: the floor for removing them. */
async function gitRemove(repo: TempRepo, round: number, dirs: string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(dirs.map((dir) => git(repo.dir, ['worktree', 'remove', dir])));
  const remove = performance.now() - started;
  for (let i = 0; i < tasks; i += 1)
    await git(repo.dir, ['branch', '-q', '-D', `plain-${round}-${i}`]);
  return remove;
}

function benchPlan(round: number): Plan {
  return {
    title: 'setup bench',
    groups: [],
    tasks: Array.from({ length: tasks }, (_, i) =>
      task(`${round * 100 + i + 1}`, {
        title: `Write one file ${i}`,
        estimateHours: null,
        line: i + 1,
      }),
    ),
  };
}

/**
 * One run, timed to its last agent's start. With `pool`, it takes the worktrees an earlier
 * clean-up kept ready (`workspace.pool`).
 */
async function ourRun(repo: TempRepo, round: number, pool = 0) {
  const starts = join(repo.dir, '..', `${repo.dir.split('/').pop()}-starts-${round}`);
  await rm(starts, { force: true });
  const launched = Date.now();
  // Each agent notes when it started (ms since the epoch), then writes one file.
  const result = await runExecution({
    cwd: repo.dir,
    plan: benchPlan(round),
    planFile: join(repo.dir, 'MULTI_AGENT_PLAN.md'),
    group: 'all',
    runner: createCommandRunner({ command: `date +%s%3N >> '${starts}'; echo done > agent.txt` }),
    env,
    settings: { minFreeDiskMb: 0, pool },
  });
  if (result.state.status !== 'completed') throw new Error(`run ${result.state.status}`);
  const times = (await readFile(starts, 'utf8')).trim().split('\n').map(Number);
  const last = Math.max(...times);
  await rm(starts, { force: true });
  return { result, start: last - launched, first: Math.min(...times) - launched };
}

type RunResult = Awaited<ReturnType<typeof runExecution>>;

/** A run's clean-up, timed; with `pool`, it parks the worktrees for the next run. */
async function ourClean(repo: TempRepo, result: RunResult, pool = 0): Promise<number> {
  const cleanStarted = performance.now();
  const cleaned = await cleanupExecution(result.state, {
    repoRoot: repo.dir,
    executionDir: result.executionDir,
    env,
    pool,
  });
  const clean = performance.now() - cleanStarted;
  const removed = cleaned.items.filter(
    (item) => item.kind === 'worktree' && item.action === 'removed',
  );
  if (removed.length !== tasks) throw new Error(`clean-up removed ${removed.length} worktrees`);
  const parked = removed.filter((item) => item.reason.includes('kept ready')).length;
  if (parked !== (pool > 0 ? tasks : 0)) throw new Error(`clean-up parked ${parked} worktrees`);
  return clean;
}

/** Dirty pages written out before each side starts (`sync`). */
async function flushDisk(): Promise<void> {
  const child = spawn('sync', [], { stdio: 'ignore' });
  await once(child, 'exit');
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const repo = await bigRepo();
try {
  // Nothing is removed until every round has made its worktrees: removing 8 checkouts frees
  // thousands of inodes, and on ext4 without a journal (this machine's disk) every inode made in
  // the next minutes costs 10-30 times more (see bench/overhead.ts), whoever made them. Which side
  // goes first alternates, so neither always meets the other's pending writes; each round gives a
  // ratio of its own, and the median of those is the figure.
  const made: Array<{
    add: number;
    start: number;
    first: number;
    dirs: string[];
    result: RunResult;
  }> = [];
  for (let round = 0; round < rounds; round += 1) {
    const baseFirst = round % 2 === 0;
    const makeBase = async () => {
      await flushDisk();
      return gitAdd(repo, round);
    };
    const runOurs = async () => {
      await flushDisk();
      return ourRun(repo, round);
    };
    const base = baseFirst ? await makeBase() : null;
    const run = await runOurs();
    const { dirs, add } = base ?? (await makeBase());
    made.push({ add, start: run.start, first: run.first, dirs, result: run.result });
  }
  const removed: Array<{ remove: number; clean: number }> = [];
  for (const [round, { dirs, result }] of made.entries()) {
    const baseFirst = round % 2 === 0;
    let remove = 0;
    const removeBase = async () => {
      await flushDisk();
      remove = await gitRemove(repo, round, dirs);
    };
    if (baseFirst) await removeBase();
    await flushDisk();
    const clean = await ourClean(repo, result);
    if (!baseFirst) await removeBase();
    removed.push({ remove, clean });
  }
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(`${tasks} tasks on a repository of ${fileCount} files, ${rounds} rounds:`);
  console.log('  round  8 parallel add  run → last agent started  ratio  (first agent started)');
  for (const [round, { add, start, first }] of made.entries()) {
    console.log(
      `  ${round}      ${s(add)}          ${s(start)}                    ${ratio(start, add)}  (${s(first)})`,
    );
  }
  const startRatio = median(made.map((m) => m.start / m.add));
  console.log(`  median ratio, set-up  ${startRatio.toFixed(2)}x (target ≤ 1.3x)`);
  console.log('  round  8 parallel remove  clean-up of the execution  ratio');
  for (const [round, { remove, clean }] of removed.entries()) {
    console.log(
      `  ${round}      ${s(remove)}             ${s(clean)}                     ${ratio(clean, remove)}`,
    );
  }
  const remove = median(removed.map((r) => r.remove));
  const cleanRatio = median(removed.map((r) => r.clean / r.remove));
  console.log(`  median ratio, clean-up ${cleanRatio.toFixed(2)}x (target ≤ 1.3x)`);
  const add = median(made.map((m) => m.add));
  // With workspace.pool: a run whose clean-up parks its worktrees, then one that takes them.
  await flushDisk();
  const filled = await ourRun(repo, rounds, tasks);
  await flushDisk();
  const filling = { clean: await ourClean(repo, filled.result, tasks) };
  await flushDisk();
  const taking = await ourRun(repo, rounds + 1, tasks);
  await ourClean(repo, taking.result, tasks);
  console.log(`  with workspace.pool: ${tasks} (one run each, after the rounds):`);
  console.log(
    `  clean-up parking ${tasks} for the next run     ${s(filling.clean)}   ratio ${(filling.clean / remove).toFixed(2)}x against removing them`,
  );
  console.log(
    `  run → last agent started, ${tasks} kept ready  ${s(taking.start)}   ratio ${(taking.start / add).toFixed(2)}x against making them`,
  );
} finally {
  await repo.cleanup();
}
