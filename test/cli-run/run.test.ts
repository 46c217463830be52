import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';
import { plan, task } from '../engine/helpers.js';
import { cli, writePlanJson } from './helpers.js';

let repo: TempRepo;

beforeEach(async () => {
  repo = await createTempRepo({ files: { '.gitignore': 'plan.json\n', 'README.md': 'x\n' } });
  await writePlanJson(
    repo.dir,
    plan([task('1.1'), task('1.2', { dependsOn: ['1.1'] }), task('2.1', { group: '2' })]),
  );
});

afterEach(async () => {
  await repo.cleanup();
});

const AGENT = ['--agent-command', 'echo "done $PE_TASK_ID" > "out-$PE_TASK_ID.txt"'];

describe('parallel-executor run', () => {
  it('runs the plan and prints one JSON document with every task', async () => {
    const result = await cli(['run', '--plan', 'plan.json', ...AGENT, '--json'], repo.dir);
    expect(result.code).toBe(0);
    const doc = JSON.parse(result.stdout) as {
      executionId: string;
      status: string;
      tasks: Array<Record<string, unknown>>;
    };
    expect(doc.executionId).toMatch(/^exec_\d{8}_\d{6}$/);
    expect(doc.status).toBe('completed');
    expect(doc).toMatchObject({ outcome: 'SUCCESS' });
    expect(doc.tasks.map((t) => t['id'])).toEqual(['1.1', '1.2', '2.1']);
    expect(doc.tasks[0]).toEqual({
      id: '1.1',
      agent: 'Builder-1.1',
      branch: 'agent/builder-1-1/1-1-task-1-1',
      worktree: join(repo.dir, '.parallel-executor', 'worktrees', doc.executionId, '1-1-task-1-1'),
      status: 'completed',
      outcome: 'COMPLETE',
      attempts: 1,
      durationMs: expect.any(Number),
      exitCode: 0,
      reason: null,
      // No package.json: every check is skipped, which validates (nothing failed).
      validation: { status: 'COMPLETE_VALIDATED', checks: expect.any(Array) },
      keptRefs: [],
      // The command agent reports no tokens.
      usage: null,
      // Nothing to flag, and nothing the agent said needs the user.
      warnings: [],
      diagnostics: [],
      spent: null,
    });
    // Human output went to stderr: the pre-flight report and one line per event.
    expect(result.stderr).toContain('GO');
    expect(result.stderr).toMatch(/1\.2 \(Builder-1\.2\) in_progress on agent\/builder-1-2/);

    const status = await cli(['status', '--json'], repo.dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      executionId: doc.executionId,
      status: 'completed',
      running: false,
    });
    const human = await cli(['status', doc.executionId], repo.dir);
    expect(human.stdout).toContain('Completed: 3/3');
  });

  it('exits 1 when a task fails, and names it', async () => {
    const result = await cli(
      [
        'run',
        '--plan',
        'plan.json',
        '--agent-command',
        'test "$PE_TASK_ID" != 1.1',
        '--group',
        '1',
      ],
      repo.dir,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED');
    expect(result.stdout).toContain('1.1 failed');
    expect(result.stdout).toContain('agent exited with code 1');
    expect(result.stdout).toContain('1.2 skipped');
    expect(result.stdout).not.toContain('2.1');
  });

  it("leaves clean out of the report's next steps when the run cleans up after it, not otherwise", async () => {
    // The run removes the worktrees and merged branches right after the report: the report said
    // "Clean up …: parallel-executor clean <id>", which then found "0 removed, 12 already gone".
    const done = await cli(['run', '--plan', 'plan.json', ...AGENT, '--json'], repo.dir);
    expect(done.code).toBe(0);
    const doc = JSON.parse(done.stdout) as { report: string; cleanup: unknown };
    expect(doc.cleanup).not.toBeNull();
    const report = await readFile(doc.report, 'utf8');
    expect(report).toContain('## Next Steps');
    expect(report).not.toContain('parallel-executor clean');

    await writePlanJson(repo.dir, plan([task('3.1', { group: '3' })]));
    const failed = await cli(
      ['run', '--plan', 'plan.json', '--agent-command', 'exit 1', '--json'],
      repo.dir,
    );
    expect(failed.code).toBe(1);
    const kept = JSON.parse(failed.stdout) as { report: string };
    expect(await readFile(kept.report, 'utf8')).toMatch(
      /Clean up worktrees and merged branches: `parallel-executor clean exec_\d+_\d+`/,
    );
  });

  it('warns before running again tasks an earlier integration branch, not merged yet, holds', async () => {
    // Ran, did not merge, ran again: the same tasks were redone (and paid for) without a word.
    const first = await cli(['run', '--plan', 'plan.json', ...AGENT, '--json'], repo.dir);
    expect(first.code).toBe(0);
    const branch = (JSON.parse(first.stdout) as { integration: { branch: string } }).integration
      .branch;
    const again = await cli(['run', '--plan', 'plan.json', ...AGENT, '--dry-run'], repo.dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      `! earlier run   ${branch} holds 1.1, 1.2, 2.1, not merged into main: they run again`,
    );
    expect(again.stdout).toContain(`merge it first (git merge --no-ff ${branch})`);
    expect(again.stdout).toContain('GO');

    await repo.git(['merge', '-q', '--no-ff', '-m', 'merge', branch]);
    const merged = await cli(['run', '--plan', 'plan.json', ...AGENT, '--dry-run'], repo.dir);
    expect(merged.stdout).not.toContain('earlier run');
  });

  it('takes settings from the config file, flags winning', async () => {
    await repo.write(
      '.github/parallel-executor.yml',
      'agent:\n  kind: command\n  command: "exit 3"\nretries: 1\ntimeouts:\n  grace: 1s\n',
    );
    await repo.commit('config');
    const fromConfig = await cli(
      ['run', '--plan', 'plan.json', '--group', '2', '--json'],
      repo.dir,
    );
    expect(fromConfig.code).toBe(1);
    expect(JSON.parse(fromConfig.stdout).tasks[0]).toMatchObject({ attempts: 2, exitCode: 3 });
    const flagged = await cli(
      ['run', '--plan', 'plan.json', '--group', '2', '--retries', '0', ...AGENT, '--json'],
      repo.dir,
    );
    expect(JSON.parse(flagged.stdout).tasks[0]).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('shows what it would do with --dry-run and creates nothing', async () => {
    const result = await cli(['run', '--plan', 'plan.json', ...AGENT, '--dry-run'], repo.dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Dry run: nothing was created');
    expect(result.stdout).toContain('branch agent/builder-1-2/1-2-task-1-2');
    expect(result.stdout).toContain('starts after 1.1');
    await expect(stat(join(repo.dir, '.parallel-executor'))).rejects.toThrow();
    expect(await repo.git(['branch', '--list', 'agent/*'])).toBe('');
  });

  it('--dry-run lists the checks that would run, the integration and the write-back', async () => {
    await repo.write(
      'package.json',
      JSON.stringify({ scripts: { lint: 'eslint .', test: 'vitest run' } }),
    );
    await repo.write(
      '.github/parallel-executor.yml',
      'validation:\n  build: make all\n  coverage: false\nintegration:\n  strategy: serial\n',
    );
    await repo.commit('checks');
    const result = await cli(
      ['run', '--plan', 'plan.json', ...AGENT, '--dry-run', '--repair-attempts', '2'],
      repo.dir,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain('  lint      npm run lint  (package.json script "lint")');
    expect(lines).toContain('  tests     npm test  (package.json script "test", critical)');
    expect(lines).toContain('  coverage  skipped: disabled in .github/parallel-executor.yml');
    expect(lines).toContain('  build     make all  (from .github/parallel-executor.yml, critical)');
    expect(lines).toContain(
      'Integration: serial, conflicts checked first; tests: npm test; a task left out handed back to its agent up to 2 time(s)',
    );
    const json = await cli(
      ['run', '--plan', 'plan.json', ...AGENT, '--dry-run', '--json'],
      repo.dir,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      checks: expect.arrayContaining([
        expect.objectContaining({ name: 'tests', command: 'npm test', critical: true }),
      ]),
      integration: { strategy: 'serial', testCommand: 'npm test', repairAttempts: 0 },
      writeBack: 'integration-branch',
    });
  });

  it('refuses a dirty tree with the list of files, and exits 1', async () => {
    await repo.write('README.md', 'changed\n');
    const result = await cli(['run', '--plan', 'plan.json', ...AGENT], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✖ working tree');
    expect(result.stdout).toContain('README.md');
    expect(result.stdout).toContain('NO-GO');
    expect(result.stderr).toMatch(/hint: Commit or stash/);
    await expect(readdir(join(repo.dir, '.parallel-executor', 'executions'))).rejects.toThrow();
  });

  it('lists every failed pre-flight check: required env, worktrees that would dirty the checkout', async () => {
    await repo.write(
      '.github/parallel-executor.yml',
      'workspace:\n  requiredEnv: [DEPLOY_TOKEN, HOME]\n  root: worktrees\n',
    );
    await repo.commit('config');
    const result = await cli(['run', '--plan', 'plan.json', ...AGENT, '--dry-run'], repo.dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✖ environment\s+missing: DEPLOY_TOKEN\n/);
    expect(result.stdout).toMatch(
      /✖ worktrees\s+.*worktrees is inside the repository and not ignored/,
    );
    expect(result.stdout).toContain('NO-GO');
    const withEnv = await cli(['run', '--plan', 'plan.json', ...AGENT, '--dry-run'], repo.dir, {
      DEPLOY_TOKEN: 'x',
    });
    expect(withEnv.stdout).toMatch(/✔ environment\s+DEPLOY_TOKEN, HOME set/);
  });

  it('answers usage errors with exit 2', async () => {
    const cases = [
      ['run', '--plan', 'plan.json', '--task-timeout', 'ten minutes', ...AGENT],
      ['run', '--plan', 'plan.json', '--concurrency', '0', ...AGENT],
      ['run', '--plan', 'plan.json', '--agent', 'gpt'],
      ['run', '--plan', 'plan.json', '--agent', 'command'],
      ['run', '--plan', 'plan.json', '--group', '9', ...AGENT],
      ['run', '--plan', 'missing.json', ...AGENT],
      ['run', '--frobnicate'],
    ];
    for (const argv of cases) {
      const result = await cli(argv, repo.dir);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toMatch(/parallel-executor: /);
    }
  });

  it('says to set a status back or add tasks when every task is completed, not to run what they wait for', async () => {
    await writePlanJson(
      repo.dir,
      plan([
        task('1.1', { status: 'completed' }),
        task('2.1', { group: '2', status: 'completed' }),
      ]),
    );
    for (const argv of [[], ['--group', '2'], ['--tasks', '1.1']]) {
      const result = await cli(['run', '--plan', 'plan.json', ...AGENT, ...argv], repo.dir);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toContain(
        'hint: To run a completed task again, set its status back to pending in the plan',
      );
      expect(result.stderr).not.toContain('Run what they wait for first');
    }
    // Something else holds a task back: the hint for that stays.
    await writePlanJson(repo.dir, plan([task('1.1', { status: 'failed' })]));
    const failed = await cli(['run', '--plan', 'plan.json', ...AGENT], repo.dir);
    expect(failed.stderr).toContain('retry a failed task with --tasks ID');
  });

  it('says how to install or configure Claude Code when it is the agent and cannot run', async () => {
    const result = await cli(['run', '--plan', 'plan.json'], repo.dir, { PATH: '/nonexistent' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✖ agent\s+claude-code: .*not found/);
    expect(result.stderr).toMatch(/--agent-command/);
  });
});
