import { runCommand } from '../../exec/run-command.js';
import type { RepoGit } from '../repo.js';
import { resetTo } from '../repo.js';
import { pairBase, type InteractionRisk } from './detect.js';

/** What `integration.onRisk: test-both` found for one risky pair. */
export interface RiskTestResult {
  /** The test files both tasks added or changed, run together. */
  files: string[];
  /** `failed`: a confirmed interaction; `no-tests`: neither task added or changed a test file. */
  outcome: 'passed' | 'failed' | 'no-tests';
  outputFile: string | null;
}

/**
 * A test file by the usual conventions: in a `test`/`tests`/`__tests__`/`spec` folder, or named
 * `*.test.*`, `*.spec.*`, `test_*.py`, `*_test.py` or `*_test.go`.
 */
export function isTestFile(path: string): boolean {
  const parts = path.split('/');
  const name = parts.at(-1)!;
  return (
    parts.slice(0, -1).some((folder) => ['test', 'tests', '__tests__', 'spec'].includes(folder)) ||
    /\.(test|spec)\.[cm]?[jt]sx?$/.test(name) ||
    /^test_.*\.py$/.test(name) ||
    /_test\.(py|go)$/.test(name)
  );
}

/** The test files a task added or changed since `base` that still exist at `head`. */
export async function ownTests(
  repo: RepoGit,
  base: string,
  tip: string,
  head: string,
): Promise<string[]> {
  const changed = await repo.run(['diff', '--name-only', '-z', '--diff-filter=AMR', base, tip]);
  const present = await repo.run(['ls-tree', '-r', '-z', '--name-only', head]);
  const atHead = new Set(present.stdout.split('\0'));
  return changed.stdout
    .split('\0')
    .filter((path) => path !== '' && isTestFile(path) && atHead.has(path));
}

export interface TestBothOptions {
  repo: RepoGit;
  /** The commit holding both tasks (the integration branch's head); the worktree is left there. */
  head: string;
  baseSha: string;
  tips: ReadonlyMap<string, string>;
  /** The user's trusted test command; the test files are its arguments (`"$@"`). */
  command: string;
  env: Record<string, string>;
  outputFile: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * Run both tasks' own new tests together on the combined code. They passed on each task's branch;
 * a failure here is an interaction the two tasks cause together.
 */
export async function testBoth(
  risk: InteractionRisk,
  options: TestBothOptions,
): Promise<RiskTestResult> {
  const { repo } = options;
  const files: string[] = [];
  for (const taskId of risk.tasks) {
    const tip = options.tips.get(taskId)!;
    const base = await pairBase(repo, options.baseSha, options.baseSha, tip);
    for (const file of await ownTests(repo, base, tip, options.head)) {
      if (!files.includes(file)) files.push(file);
    }
  }
  if (files.length === 0) return { files, outcome: 'no-tests', outputFile: null };
  await resetTo(repo, options.head);
  const result = await runCommand({
    command: `${options.command} "$@"`,
    args: files,
    cwd: repo.cwd,
    env: options.env,
    outputFile: options.outputFile,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  options.signal?.throwIfAborted();
  await resetTo(repo, options.head);
  const passed = result.exitCode === 0 && !result.timedOut;
  return { files, outcome: passed ? 'passed' : 'failed', outputFile: options.outputFile };
}
