import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec/run-command.js';
import { resetTo, type RepoGit } from './repo.js';

export interface TestRunRecord {
  run: number;
  /** Task ids merged in the tested tree, in merge order. */
  tasks: string[];
  commit: string;
  tree: string;
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  outputFile: string;
}

export interface IntegrationTestsOptions {
  repo: RepoGit;
  command: string;
  env: Record<string, string>;
  logDir: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Before each test run that really runs (not a verdict remembered for the same tree). */
  onRun?: (run: number, tasks: readonly string[]) => void;
}

export const TEST_RUNS_FILE = 'integration-test-runs.json';

/**
 * The integration test command, run in the integration worktree at its current commit. Results
 * are remembered by tree: the same files give the same verdict, so bisection never pays twice for
 * one state (dropping the last branch lands on a prefix already tested, for instance). This
 * assumes the tests are deterministic; flaky tests make any bisection blame the wrong branch.
 */
export class IntegrationTests {
  readonly records: TestRunRecord[] = [];
  private readonly verdicts = new Map<string, TestRunRecord>();

  constructor(private readonly options: IntegrationTestsOptions) {}

  get runs(): number {
    return this.records.length;
  }

  /** The verdict for the worktree's HEAD, from memory when this tree was tested before. */
  async passes(tasks: readonly string[]): Promise<boolean> {
    return (await this.test(tasks)).passed;
  }

  async test(tasks: readonly string[]): Promise<TestRunRecord> {
    const { repo } = this.options;
    const [commit, tree] = (await repo.text(['rev-parse', 'HEAD', 'HEAD^{tree}'])).split('\n') as [
      string,
      string,
    ];
    const known = this.verdicts.get(tree);
    if (known !== undefined) return known;
    const run = this.records.length + 1;
    this.options.onRun?.(run, tasks);
    const outputFile = join(
      this.options.logDir,
      `integration-test-${String(run).padStart(2, '0')}.txt`,
    );
    const result = await runCommand({
      command: this.options.command,
      cwd: repo.cwd,
      env: this.options.env,
      outputFile,
      signal: this.options.signal,
      timeoutMs: this.options.timeoutMs,
    });
    this.options.signal?.throwIfAborted();
    const record: TestRunRecord = {
      run,
      tasks: [...tasks],
      commit,
      tree,
      passed: result.exitCode === 0 && !result.timedOut,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      durationMs: Math.round(result.durationMs),
      outputFile,
    };
    this.records.push(record);
    this.verdicts.set(tree, record);
    // Tests may write files (snapshots, build output); the next merge needs a clean worktree.
    await resetTo(repo, commit);
    return record;
  }

  /** The verdict already known for this tree, if any. */
  knownFor(tree: string): TestRunRecord | undefined {
    return this.verdicts.get(tree);
  }

  async writeLog(): Promise<void> {
    const file = join(this.options.logDir, TEST_RUNS_FILE);
    await writeFile(file, `${JSON.stringify(this.records, null, 2)}\n`);
  }
}
