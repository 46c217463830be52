import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, runPlan, scratch, task, type Scratch } from './helpers.js';

let repo: TempRepo | null = null;
let notes: Scratch | null = null;
afterEach(async () => {
  await repo?.cleanup();
  await notes?.cleanup();
  repo = null;
  notes = null;
});

/** The git commands a run started (argv without `git`), from git's own trace2 event stream. */
async function gitCommandsOf(work: () => Promise<unknown>, trace: string): Promise<string[][]> {
  process.env['GIT_TRACE2_EVENT'] = trace;
  try {
    await work();
  } finally {
    delete process.env['GIT_TRACE2_EVENT'];
  }
  const lines = (await readFile(trace, 'utf8')).split('\n').filter(Boolean);
  await rm(trace, { force: true });
  return lines
    .map((line) => JSON.parse(line) as { event: string; argv?: string[] })
    .filter((event) => event.event === 'start' && event.argv !== undefined)
    .map((event) => withoutOptions(event.argv!.slice(1)));
}

/** The command and its arguments, git's own options before it (`-c name=value`…) left out. */
function withoutOptions(argv: string[]): string[] {
  let at = 0;
  while (at < argv.length && argv[at]!.startsWith('-')) at += argv[at] === '-c' ? 2 : 1;
  return argv.slice(at);
}

describe('the git a run starts with', () => {
  it('lists the tracked files once, makes the branches of tasks that start together in one ref write (two under load), and has the tool files kept out of git before any agent starts', async () => {
    repo = await createTempRepo({ files: { 'src/a.ts': 'a\n', '.env.example': 'X=\n' } });
    await repo.write('.env', 'SECRET=1\n');
    await repo.git(['add', '-f', '.env.example']);
    notes = await scratch();
    const tasks = Array.from({ length: 6 }, (_, i) => task(`${i + 1}`));
    // Each agent asks git whether its worktree's tool files (context, the copied .env) are ignored.
    const agent = `git check-ignore -q AGENT_CONTEXT.md && git check-ignore -q .env && echo "$PE_TASK_ID" >> "${notes.file('ignored')}"`;
    const trace = join(notes.dir, 'trace.json');
    let result: Awaited<ReturnType<typeof runPlan>> | undefined;
    const commands = await gitCommandsOf(async () => {
      result = await runPlan(repo!.dir, plan(tasks), agent);
    }, trace);

    expect(result!.state.status).toBe('completed');
    expect((await notes.read('ignored')).split('\n').filter(Boolean).sort()).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
    // Pre-flight's list of tracked files is the run's: `git ls-files -z` in the checkout once.
    const listings = commands.filter(
      (argv) => argv.length === 2 && argv[0] === 'ls-files' && argv[1] === '-z',
    );
    expect(listings).toHaveLength(1);
    // The six branches: in one `update-ref --stdin` when the tasks reach it within a few
    // milliseconds of each other (under load one may come late: then two).
    const refWrites = commands.filter((argv) => argv[0] === 'update-ref');
    expect(refWrites.length).toBeLessThanOrEqual(2);
    expect(refWrites.filter((argv) => argv[1] === '--stdin').length).toBeGreaterThanOrEqual(1);
    for (const run of Object.values(result!.state.tasks)) {
      expect(await repo.git(['rev-parse', '--verify', run.branch])).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('an untracked .env it copies into every worktree (and keeps out of git) is not named as a change in your checkout', async () => {
    repo = await createTempRepo({ files: { 'src/a.ts': 'a\n' } });
    await repo.write('.env', 'SECRET=1\n');
    const tasks = Array.from({ length: 3 }, (_, i) => task(`${i + 1}`));
    const result = await runPlan(repo.dir, plan(tasks), 'echo work > "work-$PE_TASK_ID.txt"');

    expect(result.state.status).toBe('completed');
    // The exclusion turned the untracked .env ignored: the tool's doing, before its first look.
    expect(await repo.git(['check-ignore', '.env'])).toBe('.env');
    expect(result.state.checkout_changes ?? []).toEqual([]);
    // Said once as the run went, not as a change to the checkout.
    const notes = result.events.flatMap((event) => (event.type === 'note' ? [event.message] : []));
    expect(notes.filter((note) => note.startsWith('.git/info/exclude: added'))).toEqual([
      expect.stringContaining('/.env'),
    ]);
    for (const run of Object.values(result.state.tasks)) expect(run.warnings ?? []).toEqual([]);
    expect(await readFile(join(repo.dir, '.env'), 'utf8')).toBe('SECRET=1\n');
  });
});
