/**
 * Collection (inspect, reattach, collect) on real worktrees, called directly: the answers for the
 * cases the fewer-processes rewrite could change, and the git processes it starts, counted with
 * git's own trace (GIT_TRACE2_EVENT), not timed.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collectTask,
  type CollectInput,
  type CollectResult,
} from '../../src/engine/collect/collect.js';
import { inspectWorktree, type Inspection } from '../../src/engine/collect/inspect.js';
import { excludeFromGit } from '../../src/engine/workspace/repo.js';
import { addWorktree } from '../../src/engine/workspace/worktree.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { collectLikeTask, directInput, isolateGitConfig } from './collect-support.js';

const BRANCH = 'pe/task-a';
const CONFLICT = '<<<<<<< ours\nmine\n=======\ntheirs\n>>>>>>> theirs\n';

let repo: TempRepo;
let worktree: string;
let start: string;
let traces = 0;

isolateGitConfig();

beforeEach(async () => {
  repo = await createTempRepo({
    files: { 'README.md': '# r\n', 'tab\tname.txt': 'one\n', 'TASK_SUMMARY.md': 'theirs\n' },
  });
  start = await repo.git(['rev-parse', 'HEAD']);
  worktree = join(repo.dir, '.wt', 'a');
  await addWorktree(repo.dir, worktree, BRANCH, start);
  // What the tool does for every worktree before the agent starts.
  await excludeFromGit(repo.dir, ['AGENT_CONTEXT.md', 'TASK_SUMMARY.md']);
  await writeFile(join(worktree, 'AGENT_CONTEXT.md'), '# context\n');
});
afterEach(() => repo?.cleanup());

/** The agent's git in the task worktree. */
function agent(args: readonly string[]): Promise<string> {
  return repo.git(args, worktree);
}

function inspect(): Promise<Inspection> {
  return inspectWorktree({
    worktree,
    startSha: start,
    toolPaths: ['AGENT_CONTEXT.md', 'TASK_SUMMARY.md'],
  });
}

function collectInput(extra: Partial<CollectInput> = {}): CollectInput {
  return { ...directInput(repo, worktree, start), ...extra };
}

/** What task.ts does once the agent has ended; a string when inspection or reattaching refused. */
function collectAll(): Promise<CollectResult | string> {
  return collectLikeTask(BRANCH, collectInput());
}

/** The agent commits a new file. */
async function commitWork(): Promise<void> {
  await writeFile(join(worktree, 'done.txt'), 'committed\n');
  await agent(['add', 'done.txt']);
  await agent(['commit', '-qm', 'work']);
}

/** Collecting a task whose agent committed (HEAD moved), sorted as gitCommands gives them. */
const AFTER_COMMITS = [
  'add',
  'commit',
  'diff',
  'diff',
  'diff-index',
  'grep',
  'ls-files',
  'merge-base',
  'rev-parse',
];

/** The git commands `work` started itself (not their children), by subcommand, sorted. */
async function gitCommands<T>(work: () => Promise<T>): Promise<{ value: T; commands: string[] }> {
  const trace = join(repo.dir, `.trace-${(traces += 1)}.json`);
  process.env['GIT_TRACE2_EVENT'] = trace;
  let value: T;
  try {
    value = await work();
  } finally {
    delete process.env['GIT_TRACE2_EVENT'];
  }
  const text = await readFile(trace, 'utf8').catch(() => '');
  const commands = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: string; sid: string; argv?: string[] })
    // A child of a git (a hook, `maintenance --auto`) has a sid with a slash.
    .filter((event) => event.event === 'start' && !event.sid.includes('/'))
    .map((event) => subcommand(event.argv ?? []));
  return { value, commands: commands.sort() };
}

function subcommand(argv: readonly string[]): string {
  let i = 1;
  while (argv[i] === '-c') i += 2;
  return argv[i] ?? '';
}

function collected(result: CollectResult | string): CollectResult {
  if (typeof result === 'string') throw new Error(`refused: ${result}`);
  return result;
}

describe('collecting a task with few git processes', () => {
  it('an agent that changed nothing: 3 git processes, nothing committed', async () => {
    const { value, commands } = await gitCommands(collectAll);
    const result = collected(value);
    expect(result.committedLeftovers).toBe(false);
    expect(result.headSha).toBe(start);
    expect(result.metrics.files_changed).toEqual([]);
    expect(await repo.git(['rev-parse', BRANCH])).toBe(start);
    // Before: 14 (two ls-files, merge-base, two diffs, symbolic-ref, check-ignore, add,
    // diff --cached --quiet, diff start HEAD, rev-parse HEAD, diff and numstat).
    expect(commands).toEqual(['diff-index', 'ls-files', 'rev-parse']);
  });

  for (const [what, change] of [
    [
      'only staged a new file',
      () => writeFile(join(worktree, 'new.txt'), 'x\n').then(() => agent(['add', 'new.txt'])),
    ],
    ['only deleted a file', () => rm(join(worktree, 'README.md'))],
    ['only left an untracked file', () => writeFile(join(worktree, 'new.txt'), 'x\n')],
  ] as const) {
    it(`an agent that ${what}: committed for it`, async () => {
      await change();
      const result = collected(await collectAll());
      expect(result.committedLeftovers).toBe(true);
      expect(result.headSha).not.toBe(start);
      expect(result.metrics.files_changed).toEqual([
        what.includes('deleted') ? 'README.md' : 'new.txt',
      ]);
    });
  }

  it('an agent that committed everything: 9 git processes', async () => {
    await commitWork();
    const { value, commands } = await gitCommands(collectAll);
    const result = collected(value);
    expect(result.committedLeftovers).toBe(false);
    expect(result.headSha).toBe(await repo.git(['rev-parse', BRANCH]));
    expect(result.metrics.files_changed).toEqual(['done.txt']);
    // Before: 15; 10 with a check-ignore the inspection's listing now answers.
    expect(commands).toEqual(AFTER_COMMITS);
  });

  it('an agent that committed and left more: all of it on the branch, 10 git processes', async () => {
    await commitWork();
    await writeFile(join(worktree, 'README.md'), '# r\nedited\n');
    await writeFile(join(worktree, 'new.txt'), 'untracked\n');
    await writeFile(join(worktree, 'TASK_SUMMARY.md'), 'summary\n');
    const { value, commands } = await gitCommands(collectAll);
    const result = collected(value);
    expect(result.committedLeftovers).toBe(true);
    expect(result.restoredToolPaths).toEqual([]);
    expect(result.headSha).toBe(await repo.git(['rev-parse', BRANCH]));
    expect(result.metrics.files_changed.sort()).toEqual(['README.md', 'done.txt', 'new.txt']);
    // The tool's files stay out, changed or not.
    expect(await repo.git(['status', '--porcelain'], worktree)).toBe(' M TASK_SUMMARY.md');
    // Before: 16. The one more: HEAD after the leftovers' commit (asked alongside the diffs).
    expect(commands).toEqual([...AFTER_COMMITS, 'rev-parse']);
  });

  it('finds markers in odd names: a tab, a leading "? ", untracked or modified', async () => {
    await writeFile(join(worktree, '? odd.txt'), CONFLICT);
    await writeFile(join(worktree, 'tab\tname.txt'), CONFLICT);
    const { problems } = await inspect();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('conflict markers');
    expect(problems[0]).toContain('? odd.txt, tab\tname.txt;');
  });

  it('names unmerged paths with a tab in their name', async () => {
    await agent(['checkout', '-q', '-b', 'other']);
    await writeFile(join(worktree, 'tab\tname.txt'), 'other\n');
    await agent(['commit', '-qam', 'other']);
    await agent(['checkout', '-q', BRANCH]);
    await writeFile(join(worktree, 'tab\tname.txt'), 'mine\n');
    await agent(['commit', '-qam', 'mine']);
    await repo.git(['merge', 'other'], worktree).catch(() => undefined);
    const { problems } = await inspect();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('a merge in progress');
    expect(problems[0]).toContain('(unmerged paths: tab\tname.txt)');
  });

  for (const how of ['staged', 'committed'] as const) {
    it(`refuses a gitlink ${how} and then deleted from the worktree`, async () => {
      const nested = join(worktree, 'sub');
      await mkdir(nested);
      await repo.git(['init', '-q'], nested);
      await writeFile(join(nested, 'f.txt'), 'nested\n');
      await repo.git(['add', 'f.txt'], nested);
      await repo.git(['commit', '-qm', 'nested'], nested);
      await agent(['add', 'sub']);
      if (how === 'committed') await agent(['commit', '-qm', 'link']);
      await rm(nested, { recursive: true, force: true });
      const refused = await collectAll();
      expect(typeof refused).toBe('string');
      expect(refused).toContain('committed a link to a nested git repository');
      expect(refused).toContain(': sub;');
    });
  }

  it("commits leftovers whatever the repository's hooks say, and nothing when nothing is left", async () => {
    const hooks = join(repo.dir, '.git', 'hooks');
    await mkdir(hooks, { recursive: true });
    for (const hook of ['pre-commit', 'prepare-commit-msg', 'commit-msg']) {
      await writeFile(join(hooks, hook), '#!/bin/sh\nexit 1\n');
      await chmod(join(hooks, hook), 0o755);
    }
    await writeFile(join(worktree, 'left.txt'), 'left\n');
    const first = collected(await collectAll());
    expect(first.committedLeftovers).toBe(true);
    expect(await repo.git(['show', `${BRANCH}:left.txt`])).toBe('left');
    // Collected again: nothing is staged, so no commit (git commit answers 1).
    const again = collected(
      await collectTask(collectInput({ outputDir: join(repo.dir, '.out', 'a2') })),
    );
    expect(again.committedLeftovers).toBe(false);
    expect(again.headSha).toBe(first.headSha);
    expect(await repo.git(['rev-parse', BRANCH])).toBe(first.headSha);
  });

  it('not inspected (a failed task in the action): a merge with nothing staged is not committed', async () => {
    await agent(['checkout', '-q', '-b', 'other']);
    await writeFile(join(worktree, 'other.txt'), 'other\n');
    await agent(['add', 'other.txt']);
    await agent(['commit', '-qm', 'other']);
    await agent(['checkout', '-q', BRANCH]);
    await agent(['merge', '-q', '--no-ff', '--no-commit', 'other']);
    await agent(['rm', '-q', '--cached', 'other.txt']);
    await rm(join(worktree, 'other.txt'));
    const result = await collectTask(collectInput());
    expect(result.committedLeftovers).toBe(false);
    expect(result.headSha).toBe(start);
    expect(await repo.git(['rev-parse', BRANCH])).toBe(start);
  });

  it('puts back a tracked tool file the agent renamed in a commit', async () => {
    await agent(['mv', 'TASK_SUMMARY.md', 'notes.md']);
    await agent(['commit', '-qm', 'rename']);
    const result = collected(await collectAll());
    expect(result.restoredToolPaths).toEqual(['TASK_SUMMARY.md']);
    expect(result.metrics.files_changed).toEqual(['notes.md']);
    expect(result.headSha).toBe(await repo.git(['rev-parse', BRANCH]));
    expect(await repo.git(['show', `${BRANCH}:TASK_SUMMARY.md`])).toBe('theirs');
  });

  it('an orphan branch (unborn HEAD): the start is lost, as before', async () => {
    await agent(['checkout', '-q', '--orphan', 'fresh']);
    const inspected = await inspect();
    expect(inspected.head).toBeNull();
    expect(inspected.problems).toHaveLength(1);
    expect(inspected.problems[0]).toContain('the branch no longer contains its start commit');
  });

  it('a detached HEAD that adds to the branch: reattached, the work on the branch', async () => {
    await agent(['checkout', '-q', '--detach']);
    await writeFile(join(worktree, 'detached.txt'), 'work\n');
    await agent(['add', 'detached.txt']);
    await agent(['commit', '-qm', 'detached']);
    const inspected = await inspect();
    expect(inspected.head?.ref).toBe('HEAD');
    const result = collected(await collectAll());
    expect(result.metrics.files_changed).toEqual(['detached.txt']);
    expect(await repo.git(['symbolic-ref', 'HEAD'], worktree)).toBe(`refs/heads/${BRANCH}`);
  });
});
