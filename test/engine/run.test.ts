import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreflightError } from '../../src/engine/errors.js';
import { ExecutionState } from '../../src/engine/state/schema.js';
import { isProcessAlive } from '../../src/engine/agents/process-group.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import {
  agentEnv,
  intervals,
  overlaps,
  plan,
  runPlan,
  scratch,
  task,
  TIMED_AGENT,
  type Scratch,
} from './helpers.js';

let repo: TempRepo;
let box: Scratch;

beforeEach(async () => {
  repo = await createTempRepo({ files: { 'README.md': '# demo\n', 'src/app.txt': 'v1\n' } });
  box = await scratch();
});

afterEach(async () => {
  await repo.cleanup();
  await box.cleanup();
});

const timesEnv = (nap = '0.6') => agentEnv({ TIMES: box.file('times'), NAP: nap });

describe('runExecution with the command runner', () => {
  it('runs independent tasks at the same time, each on its own branch, and collects their work', async () => {
    const thePlan = plan([task('a'), task('b'), task('c')]);
    const { state, stateFile, executionDir } = await runPlan(repo.dir, thePlan, TIMED_AGENT, {
      env: timesEnv('1'),
    });

    expect(state.status).toBe('completed');
    const times = intervals(await box.read('times'));
    const [a, b, c] = ['a', 'b', 'c'].map((id) => times.get(id)!);
    expect(overlaps(a!, b!) && overlaps(b!, c!) && overlaps(a!, c!)).toBe(true);

    for (const id of ['a', 'b', 'c']) {
      const run = state.tasks[id]!;
      expect(run.branch).toBe(`agent/builder-${id}/${id}-task-${id}`);
      // The agent left its file uncommitted; collection committed it on the task's branch.
      expect(await repo.git(['show', `${run.branch}:out-${id}.txt`])).toBe(`work of ${id}`);
      expect(await repo.git(['log', '-1', '--format=%an <%ae>%n%s', run.branch])).toBe(
        `parallel-executor <parallel-executor@localhost>\nparallel-executor: task ${id} — Task ${id} (Builder-${id})`,
      );
      const files = await repo.git(['ls-tree', '-r', '--name-only', run.branch]);
      expect(files).not.toContain('AGENT_CONTEXT.md');
      expect(run.head_sha).toBe(await repo.git(['rev-parse', run.branch]));
      expect(run.metrics).toMatchObject({
        lines_added: 1,
        files_modified: 1,
        files_changed: [`out-${id}.txt`],
      });
      const bundle = (await readdir(run.output_dir)).sort();
      expect(bundle).toEqual(['agent.log', 'changes.diff', 'files_changed.txt', 'metrics.json']);
      expect(await readFile(join(run.output_dir, 'changes.diff'), 'utf8')).toContain(
        `+work of ${id}`,
      );
    }
    // The saved state is the final one and passes its own schema.
    const saved = ExecutionState.parse(JSON.parse(await readFile(stateFile, 'utf8')));
    expect(saved.status).toBe('completed');
    expect(saved.completed_tasks.sort()).toEqual(['a', 'b', 'c']);
    expect(stateFile.startsWith(join(repo.dir, '.parallel-executor', 'executions'))).toBe(true);
    expect(executionDir).toMatch(/exec_\d{8}_\d{6}$/);
    // The user's checkout is untouched: no dirty file, not even the tool's folder.
    expect(await repo.git(['status', '--porcelain', '--untracked-files=all'])).toBe('');
  });

  it('starts a dependent task from its dependencies’ work, as soon as they are done', async () => {
    // d depends on b and c, which both depend on a: d's worktree must hold all three outputs.
    const check =
      'for f in $NEEDS; do test -f "out-$f.txt" || { echo "missing out-$f.txt"; exit 3; }; done; ';
    const thePlan = plan([
      task('a'),
      task('b', { dependsOn: ['a'] }),
      task('c', { dependsOn: ['a'] }),
      task('d', { dependsOn: ['b', 'c'] }),
    ]);
    const command =
      'case "$PE_TASK_ID" in b|c) NEEDS=a;; d) NEEDS="a b c";; esac; ' + check + TIMED_AGENT;
    const { state } = await runPlan(repo.dir, thePlan, command, { env: timesEnv('0.3') });

    expect(state.status).toBe('completed');
    const t = intervals(await box.read('times'));
    expect(t.get('b')!.start).toBeGreaterThanOrEqual(t.get('a')!.end);
    expect(t.get('c')!.start).toBeGreaterThanOrEqual(t.get('a')!.end);
    expect(t.get('d')!.start).toBeGreaterThanOrEqual(Math.max(t.get('b')!.end, t.get('c')!.end));
    expect(overlaps(t.get('b')!, t.get('c')!)).toBe(true);
    // The context bundle tells d what its dependencies produced.
    const context = await readFile(join(state.tasks['d']!.worktree, 'AGENT_CONTEXT.md'), 'utf8');
    expect(context).toContain('- b: Task b (Builder-b) — completed in this execution');
    expect(context).toContain('`out-c.txt`');
    // d's own bundle holds only its own change.
    expect(state.tasks['d']!.metrics!.files_changed).toEqual(['out-d.txt']);
  });

  it('lists every file the task changed as git diff does, renames, binaries and odd names included', async () => {
    const command = [
      'git mv src/app.txt src/main.txt',
      'printf "v1\\nv2\\n" > src/main.txt',
      "printf 'a\\000b' > data.bin",
      "printf 'x\\n' > \"$(printf 'tab\\tname')\"",
      "printf 'y\\n' > \"$(printf 'new\\nline')\"",
      'git add -A && git commit -qm "rename and friends"',
    ].join(' && ');
    const { state } = await runPlan(repo.dir, plan([task('r')]), command);
    expect(state.status).toBe('completed');
    const run = state.tasks['r']!;
    const range = [run.start_sha!, run.head_sha!];
    const names = (await repo.git(['diff', '--name-only', '-z', ...range, '--'])).split('\0');
    expect(run.metrics!.files_changed).toEqual(names.filter(Boolean));
    expect(run.metrics!.files_changed).toEqual(
      expect.arrayContaining(['src/main.txt', 'data.bin', 'tab\tname', 'new\nline']),
    );
    expect(run.metrics!.files_changed).not.toContain('src/app.txt');
    expect(run.metrics).toMatchObject({ files_modified: 4, lines_added: 3, lines_removed: 0 });
  });

  it('collects a task whose agent left a named pipe as TASK_SUMMARY.md (git skips it; reading it must not hang)', async () => {
    const command = 'mkfifo TASK_SUMMARY.md && echo work > out.txt';
    const { state } = await runPlan(repo.dir, plan([task('p')]), command);
    expect(state.status).toBe('completed');
    expect(state.tasks['p']!.metrics!.files_changed).toEqual(['out.txt']);
  }, 30_000);

  it('never runs two tasks of one agent at once, and `All` occupies every agent', async () => {
    const thePlan = plan([
      task('x', { agents: ['Builder-1'] }),
      task('y', { agents: ['builder-1'] }),
      task('z', { agents: ['Builder-2'] }),
      task('w', { agents: ['All'] }),
    ]);
    const { state } = await runPlan(repo.dir, thePlan, TIMED_AGENT, { env: timesEnv('0.5') });

    expect(state.status).toBe('completed');
    const t = intervals(await box.read('times'));
    expect(overlaps(t.get('x')!, t.get('y')!)).toBe(false);
    expect(overlaps(t.get('x')!, t.get('z')!)).toBe(true);
    for (const other of ['x', 'y', 'z']) expect(overlaps(t.get('w')!, t.get(other)!)).toBe(false);
  });

  it('carries the agent’s status file to the state file within a second', async () => {
    const command =
      'printf \'{"progress_percent": 40, "current_step": "Writing unit tests", "has_error": false}\' > "$PE_STATUS_FILE"; ' +
      'date +%s%N > "$WROTE"; sleep 2';
    let seenAt = 0;
    let onDiskAt = 0;
    let onDisk: {
      tasks: Record<string, { progress_percent: number; current_step: string }>;
    } | null = null;
    let watching: NodeJS.Timeout | undefined;
    const { state } = await runPlan(repo.dir, plan([task('a')]), command, {
      env: agentEnv({ WROTE: box.file('wrote') }),
      onEvent: (event, current) => {
        if (event.type !== 'task-progress' || seenAt !== 0) return;
        seenAt = Date.now();
        const file = join(
          repo.dir,
          '.parallel-executor',
          'executions',
          current.execution_id,
          'PARALLEL_EXECUTION_STATUS.json',
        );
        // What a reader of the state file (status --watch, the dashboard of another terminal) sees.
        watching = setInterval(() => {
          readFile(file, 'utf8').then(
            (text) => {
              const saved = JSON.parse(text) as NonNullable<typeof onDisk>;
              if (onDisk === null && saved.tasks['a']?.progress_percent === 40) {
                onDisk = saved;
                onDiskAt = Date.now();
              }
            },
            () => undefined,
          );
        }, 20);
      },
    });
    clearInterval(watching);
    expect(state.status).toBe('completed');
    const wroteAt = Number(BigInt((await box.read('wrote')).trim()) / 1000000n);
    expect(seenAt - wroteAt).toBeLessThan(1000);
    expect(onDisk).not.toBeNull();
    expect(onDiskAt - wroteAt).toBeLessThan(1000);
    expect(onDisk!.tasks['a']).toMatchObject({
      progress_percent: 40,
      current_step: 'Writing unit tests',
    });
  });

  it('never moves a task’s progress backwards within an attempt', async () => {
    const command =
      'printf \'{"progress_percent": 60}\' > "$PE_STATUS_FILE"; sleep 0.6; ' +
      'printf \'{"progress_percent": 30}\' > "$PE_STATUS_FILE"; sleep 0.6';
    const seen: number[] = [];
    await runPlan(repo.dir, plan([task('a')]), command, {
      onEvent: (event) => {
        if (event.type === 'task-progress') seen.push(event.percent);
      },
    });
    expect(seen).toContain(60);
    expect(seen.slice(seen.indexOf(60))).not.toContain(30);
  });

  it('caps concurrent agents with concurrency', async () => {
    const thePlan = plan([task('a'), task('b'), task('c')]);
    await runPlan(repo.dir, thePlan, TIMED_AGENT, {
      env: timesEnv('0.3'),
      settings: { concurrency: 1 },
    });
    const t = intervals(await box.read('times'));
    expect(overlaps(t.get('a')!, t.get('b')!) || overlaps(t.get('b')!, t.get('c')!)).toBe(false);
  });

  it('fails a crashing agent with its exit code and last lines, skips its dependents, finishes the rest', async () => {
    const thePlan = plan([
      task('a'),
      task('b', { dependsOn: ['a'] }),
      task('c', { dependsOn: ['b'] }),
      task('d'),
    ]);
    const command =
      'if [ "$PE_TASK_ID" = a ]; then echo "compiling"; echo "boom: out of cheese" >&2; exit 7; fi; ' +
      TIMED_AGENT;
    const { state } = await runPlan(repo.dir, thePlan, command, { env: timesEnv('0.1') });

    expect(state.status).toBe('failed');
    const a = state.tasks['a']!;
    expect(a.status).toBe('failed');
    expect(a.exit_code).toBe(7);
    expect(a.reason).toContain('exited with code 7');
    expect(a.reason).toContain('boom: out of cheese');
    expect(await readFile(join(a.output_dir, 'agent.log'), 'utf8')).toContain('compiling');
    expect(state.tasks['b']).toMatchObject({ status: 'skipped', reason: 'dependency a failed' });
    expect(state.tasks['c']).toMatchObject({
      status: 'skipped',
      reason: 'dependency b was skipped',
    });
    expect(state.tasks['d']!.status).toBe('completed');
    expect(state.failed_tasks).toEqual(['a']);
    // A failed task's worktree and branch are kept for inspection.
    expect((await stat(a.worktree)).isDirectory()).toBe(true);
    expect(await repo.git(['branch', '--list', a.branch])).toContain(a.branch);
  });

  it('stops a hung agent at the idle limit and kills its whole process tree', async () => {
    const command =
      'echo $$ > "$PIDS"; sleep 30 & echo $! >> "$PIDS"; sh -c "sleep 30" & echo $! >> "$PIDS"; wait';
    const { state, events } = await runPlan(repo.dir, plan([task('a')]), command, {
      env: agentEnv({ PIDS: box.file('pids') }),
      settings: { idleTimeoutMs: 700 },
    });

    const a = state.tasks['a']!;
    expect(a.status).toBe('failed');
    expect(a.reason).toMatch(/^hung: no output and no status change for 700ms/);
    const pids = (await box.read('pids')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
    expect(events.some((e) => e.type === 'task-status' && e.status === 'failed')).toBe(true);
  });

  it('stops an agent that keeps talking past the task time limit', async () => {
    const command = 'while true; do echo tick; sleep 0.1; done';
    const { state } = await runPlan(repo.dir, plan([task('a')]), command, {
      settings: { taskTimeoutMs: 800, idleTimeoutMs: 10_000 },
    });
    expect(state.tasks['a']!.reason).toMatch(/^timed out: still running after 800ms/);
  });

  it('retries a failed agent from a clean worktree, up to the retry limit', async () => {
    // First attempt leaves junk and fails; the second must not see the junk.
    const command =
      'n=$(cat "$COUNTER.$PE_TASK_ID" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER.$PE_TASK_ID"; ' +
      'if [ $n -lt 2 ]; then echo junk > junk.txt; exit 1; fi; test ! -e junk.txt || exit 9; echo ok > done.txt';
    const env = agentEnv({ COUNTER: box.file('count') });
    const retried = await runPlan(repo.dir, plan([task('a')]), command, {
      env,
      settings: { retries: 1 },
    });
    const a = retried.state.tasks['a']!;
    expect(a).toMatchObject({ status: 'completed', attempts: 2 });
    expect(retried.events).toContainEqual(
      expect.objectContaining({ type: 'task-retry', taskId: 'a', attempt: 2 }),
    );
    expect(await repo.git(['ls-tree', '--name-only', a.branch])).not.toContain('junk.txt');

    const once = await runPlan(repo.dir, plan([task('b')]), command, { env });
    expect(once.state.tasks['b']).toMatchObject({ status: 'failed', attempts: 1, exit_code: 1 });
  });

  it('keeps hostile plan text out of command lines and refs', async () => {
    const titles = [
      '$(touch "$PWNED")',
      '`touch "$PWNED"`; rm -rf ~ #',
      '\'; touch "$PWNED"; echo \'',
      '../../.. --force -rf',
      'Ünïcödé 日本語 タスク',
      'x'.repeat(200),
      'refs/heads/main..HEAD~1^{}@{0}:?*[\\',
    ];
    const tasks = titles.map((title, i) =>
      task(`t${i}`, { title, agents: [`Agent ${i} $(id)`], branch: i === 6 ? title : null }),
    );
    const command = 'printf "%s" "$PE_TASK_TITLE" > title.txt';
    const { state } = await runPlan(repo.dir, plan(tasks), command, {
      env: agentEnv({ PWNED: box.file('pwned') }),
    });

    expect(state.status).toBe('completed');
    const branches = new Set<string>();
    for (const [i, title] of titles.entries()) {
      const run = state.tasks[`t${i}`]!;
      expect(await repo.git(['check-ref-format', '--branch', run.branch])).toBe(run.branch);
      expect(run.branch).toMatch(/^[A-Za-z0-9._/-]+$/);
      expect(run.branch.length).toBeLessThanOrEqual(120);
      branches.add(run.branch);
      expect(await repo.git(['show', `${run.branch}:title.txt`])).toBe(title);
    }
    expect(branches.size).toBe(titles.length);
    expect(await box.read('pwned')).toBe('');
    await expect(stat(box.file('pwned'))).rejects.toThrow();
  });

  it('refuses a dirty working tree, naming the files, and creates nothing', async () => {
    await repo.write('src/app.txt', 'v2\n');
    await repo.write('notes/todo.md', 'x\n');
    const error = await runPlan(repo.dir, plan([task('a')]), 'true').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightError);
    expect((error as Error).message).toContain('src/app.txt');
    expect((error as Error).message).toContain('notes/todo.md');
    expect((error as PreflightError).hint).toMatch(/commit or stash/i);
    await expect(stat(join(repo.dir, '.parallel-executor'))).rejects.toThrow();
  });

  it('runs with an uncommitted .claude/settings.json, which each agent finds in its worktree', async () => {
    await repo.write('.claude/settings.json', '{"env":{"FROM_SETTINGS":"1"}}\n');
    await repo.write('.env.local', 'LOCAL=1\n');
    const { state } = await runPlan(
      repo.dir,
      plan([task('a')]),
      'cp .claude/settings.json seen.json',
    );
    const run = state.tasks['a']!;
    expect(run.reason).toBeNull();
    expect(run.status).toBe('completed');
    expect(await repo.git(['show', `${run.branch}:seen.json`])).toBe(
      '{"env":{"FROM_SETTINGS":"1"}}',
    );
    // The copy is the user's configuration, not the agent's work: it stays out of the commit.
    expect(await repo.git(['ls-tree', '-r', '--name-only', run.branch])).not.toContain('.claude');
  });

  it('still refuses an uncommitted change to a tracked .claude/settings.json', async () => {
    await repo.write('.claude/settings.json', '{}\n');
    await repo.git(['add', '-A']);
    await repo.git(['commit', '-q', '-m', 'settings']);
    await repo.write('.claude/settings.json', '{"model":"x"}\n');
    await expect(runPlan(repo.dir, plan([task('a')]), 'true')).rejects.toThrow(
      /uncommitted changes in 1 file\(s\): \.claude\/settings\.json/,
    );
  });

  it('refuses a detached HEAD', async () => {
    await repo.git(['checkout', '-q', '--detach']);
    await expect(runPlan(repo.dir, plan([task('a')]), 'true')).rejects.toThrow(/detached/);
  });

  it('stops every agent on abort and leaves a resumable state', async () => {
    const controller = new AbortController();
    const command = 'echo $$ >> "$PIDS"; sleep 20';
    const result = runPlan(
      repo.dir,
      plan([task('a'), task('b'), task('c', { dependsOn: ['a'] })]),
      command,
      {
        env: agentEnv({ PIDS: box.file('pids') }),
        signal: controller.signal,
        onEvent: (event, state) => {
          const running = Object.values(state.tasks).filter((t) => t.status === 'in_progress');
          if (event.type === 'task-status' && running.length === 2) controller.abort();
        },
      },
    );
    const { state } = await result;
    expect(state.status).toBe('cancelled');
    expect(state.tasks['a']!.status).toBe('cancelled');
    expect(state.tasks['b']!.status).toBe('cancelled');
    expect(state.tasks['c']!.status).toBe('pending');
    for (const pid of (await box.read('pids')).trim().split('\n').map(Number)) {
      expect(isProcessAlive(pid)).toBe(false);
    }
  });
});
