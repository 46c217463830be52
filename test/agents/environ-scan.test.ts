import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMarkedProcesses } from '../../src/engine/agents/stray-processes.js';

/**
 * /proc/<pid>/environ is read out of the process's memory: a process stuck holding its memory
 * lock (a page fault on a dead network mount) makes the read wait as long as it is stuck. Here a
 * folder stands for /proc, its pids those of real sleeping processes, and one of them has a FIFO
 * for its environ: opening it blocks until a writer comes, which none does, as a stuck read does.
 */
const repoRoot = resolve(import.meta.dirname, '../..');
let dir: string;
const sleepers: ChildProcess[] = [];

function sleeper(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  sleepers.push(child);
  return child.pid!;
}

const environ = (executionId: string, worktree: string) =>
  `HOME=/h\0PE_EXECUTION_ID=${executionId}\0PE_TASK_ID=x\0PE_WORKTREE=${worktree}\0`;

/** A /proc of its own: each pid with an environ (a FIFO for `stuck`) and a command line. */
async function fakeProc(
  name: string,
  entries: Array<{ pid: number; environ?: string; stuck?: boolean }>,
): Promise<string> {
  const root = join(dir, name);
  for (const entry of entries) {
    const folder = join(root, String(entry.pid));
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'cmdline'), `sleep\u000060\u0000`);
    if (entry.stuck === true) {
      await run('mkfifo', [join(folder, 'environ')]);
    } else {
      await writeFile(join(folder, 'environ'), entry.environ ?? 'HOME=/h\0');
    }
  }
  return root;
}

async function run(file: string, args: string[]): Promise<void> {
  const child = spawn(file, args, { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${file} exited ${code}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pe-environ-'));
});

afterAll(async () => {
  for (const child of sleepers) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe("looking for an execution's processes by their environment", () => {
  it('a process whose environment cannot be read is named unread after the time limit, and the processes after it are still found', async () => {
    const [a, stuck, c, other] = [sleeper(), sleeper(), sleeper(), sleeper()];
    const root = await fakeProc('one', [
      { pid: a, environ: environ('exec-1', '/w/a') },
      { pid: stuck, stuck: true },
      { pid: c, environ: environ('exec-1', '/w/c') },
      // Another execution's: not ours.
      { pid: other, environ: environ('exec-2', '/w/a') },
    ]);
    const owners = [
      { executionId: 'exec-1', taskId: 'A', worktree: '/w/a' },
      { executionId: 'exec-1', taskId: 'C', worktree: '/w/c' },
    ];
    const started = performance.now();
    const marked = await findMarkedProcesses(owners, { root, stallMs: 300 });
    const took = performance.now() - started;
    expect(marked).not.toBeNull();
    expect(marked!.found.map((entry) => [entry.pid, entry.taskId]).sort()).toEqual(
      [
        [a, 'A'],
        [c, 'C'],
      ].sort(),
    );
    expect(marked!.found[0]!.command).toBe('sleep 60');
    expect(marked!.unread).toEqual([stuck]);
    expect(took).toBeLessThan(5_000);

    // The next look does not wait on it again, and still names it.
    const again = performance.now();
    const second = await findMarkedProcesses(owners, { root, stallMs: 300 });
    expect(performance.now() - again).toBeLessThan(300);
    expect(second!.unread).toEqual([stuck]);
    expect(second!.found).toHaveLength(2);
  });

  it('looks made at once (agents ending together) each get their answer', async () => {
    const pids = [sleeper(), sleeper(), sleeper()];
    const root = await fakeProc(
      'many',
      pids.map((pid, i) => ({ pid, environ: environ('exec-3', `/w/${i}`) })),
    );
    const looks = await Promise.all(
      pids.map((_, i) =>
        findMarkedProcesses([{ executionId: 'exec-3', taskId: `T${i}`, worktree: `/w/${i}` }], {
          root,
        }),
      ),
    );
    expect(looks.map((look) => look!.found.map((entry) => entry.pid))).toEqual(
      pids.map((pid) => [pid]),
    );
  });

  it('a real process an agent left under setsid is found through the real /proc', async () => {
    const worktree = join(dir, 'wt-real');
    const stray = spawn('setsid', ['sleep', '60'], {
      stdio: 'ignore',
      env: { PATH: process.env['PATH'], PE_EXECUTION_ID: 'exec-real', PE_WORKTREE: worktree },
    });
    sleepers.push(stray);
    await new Promise((done) => setTimeout(done, 200));
    const marked = await findMarkedProcesses([{ executionId: 'exec-real', taskId: 'R', worktree }]);
    expect(marked!.found.map((entry) => entry.taskId)).toEqual(['R']);
    expect(marked!.found[0]!.command).toBe('sleep 60');
  });

  it('the orchestrator still exits when a read never ended', async () => {
    const stuck = sleeper();
    const root = await fakeProc('exit', [{ pid: stuck, stuck: true }]);
    // A process of its own that looks, gets its answer, and exits (as the CLI does at the end of
    // a run); a thread left in the read would hold its exit for ever.
    const script = [
      `import { findMarkedProcesses } from ${JSON.stringify(join(repoRoot, 'src/engine/agents/stray-processes.ts'))};`,
      `const marked = await findMarkedProcesses([], { root: ${JSON.stringify(root)}, stallMs: 200 });`,
      `console.log(JSON.stringify(marked));`,
    ].join('\n');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ found: [], unread: [stuck] });
  }, 20_000);
});
