import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { IntegrationCandidate } from '../../src/engine/integrate/candidates.js';
import { git } from '../../src/engine/workspace/git-exec.js';

/**
 * The repository's own test: cheap, and sensitive to what branches bring in. It fails when a file
 * under src/ says BROKEN (a culprit), or when both halves of a pair are present (branches that
 * only fail together). It also rewrites a tracked file, as real test runs do (snapshots), so the
 * integration must clean up after every run.
 */
export const TEST_SH = `#!/bin/sh
date +%s%N > last-run.txt
if grep -rl BROKEN src >/dev/null 2>&1; then echo "broken: $(grep -rl BROKEN src)"; exit 1; fi
if [ -f src/pair-a.txt ] && [ -f src/pair-b.txt ]; then echo "pair-a and pair-b clash"; exit 1; fi
echo ok
`;

export const TEST_COMMAND = 'sh test.sh';

export interface RepoFixture {
  /** Parent temp folder: the repository, workdirs and logs all live under it. */
  dir: string;
  root: string;
  env: Record<string, string>;
  baseSha: string;
  git(args: readonly string[]): Promise<string>;
  /** A branch `name` from `from` (default main) adding/replacing files, made with plumbing only. */
  branch(name: string, files: Record<string, string>, from?: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** An isolated environment: no global or system git config, a fixed identity. */
export function gitEnv(): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return {
    ...inherited,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Author',
    GIT_AUTHOR_EMAIL: 'author@example.com',
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.com',
  };
}

export async function makeRepo(files: Record<string, string> = {}): Promise<RepoFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'pe-integrate-'));
  const root = join(dir, 'repo');
  const env = gitEnv();
  const run = async (
    args: readonly string[],
    extraEnv: Record<string, string> = {},
    input?: string,
  ) => (await git(root, args, { env: { ...env, ...extraEnv }, input })).stdout.trim();
  await git(dir, ['init', '-q', '-b', 'main', root], { env });
  await run(['config', 'commit.gpgsign', 'false']);
  await run(['config', 'gc.auto', '0']);
  const initial: Record<string, string> = {
    'test.sh': TEST_SH,
    'last-run.txt': 'never\n',
    'src/base.txt': 'base\n',
    'shared.txt': 'line 1\nline 2\nline 3\n',
    '.gitignore': 'node_modules/\n',
    ...files,
  };
  for (const [name, text] of Object.entries(initial)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
  await run(['add', '-A']);
  await run(['commit', '-q', '-m', 'base']);
  const baseSha = await run(['rev-parse', 'HEAD']);

  let indexCount = 0;
  const branch = async (name: string, changes: Record<string, string>, from = 'main') => {
    const index = join(dir, `index-${indexCount++}`);
    const withIndex = { GIT_INDEX_FILE: index };
    const parent = await run(['rev-parse', `${from}^{commit}`]);
    await run(['read-tree', parent], withIndex);
    for (const [path, text] of Object.entries(changes)) {
      const blob = await run(['hash-object', '-w', '--stdin'], {}, text);
      await run(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], withIndex);
    }
    const tree = await run(['write-tree'], withIndex);
    const commit = await run(['commit-tree', tree, '-p', parent, '-m', `work on ${name}`]);
    await run(['update-ref', `refs/heads/${name}`, commit]);
    await rm(index, { force: true });
    return commit;
  };
  return {
    dir,
    root,
    env,
    baseSha,
    git: (args) => run(args),
    branch,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * `count` task branches T1..Tn, each adding its own file under src/ (so none conflict); those
 * listed in `culprits` (1-based) write BROKEN into it, which fails the repository's test.
 */
export async function taskBranches(
  repo: RepoFixture,
  count: number,
  culprits: readonly number[] = [],
  prefix = 'task',
): Promise<IntegrationCandidate[]> {
  const candidates: IntegrationCandidate[] = [];
  for (let i = 1; i <= count; i++) {
    const taskId = `T${i}`;
    const branch = `${prefix}/${taskId}`;
    const text = culprits.includes(i) ? `BROKEN by ${taskId}\n` : `work of ${taskId}\n`;
    await repo.branch(branch, { [`src/${taskId}.txt`]: text });
    candidates.push({ taskId, agent: `builder-${i}`, branch, dependsOn: [] });
  }
  return candidates;
}
