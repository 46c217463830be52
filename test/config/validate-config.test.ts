import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config/load.js';
import type { ConfigurationError } from '../../src/engine/errors.js';
import { settingsFromConfig } from '../../src/engine/run/config-settings.js';
import { cli } from '../cli-run/helpers.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

const PLAN = `# Plan

| ID | Task | Agent | Depends On |
|---|---|---|---|
| T1 | Schema | Builder-1 | — |
| T2 | API | Builder-2 | T1 |
`;

const CONFIG = '.github/parallel-executor.yml';
const execFileAsync = promisify(execFile);

let repo: TempRepo;
beforeEach(async () => {
  repo = await createTempRepo({ files: { 'MULTI_AGENT_PLAN.md': PLAN } });
});
afterEach(async () => {
  await repo.cleanup();
});

describe('validate checks .github/parallel-executor.yml by the rules run reads it with', () => {
  it('names every mistake at once, each at its file:line, among the plan findings; exit 1', async () => {
    await repo.write(
      CONFIG,
      [
        'plan: docs/PLAN.md',
        'timeouts:',
        '  task: 10 minuets',
        '  idle: 600',
        'budget:',
        '  duration: soon',
        '',
      ].join('\n'),
    );
    await repo.write('docs/PLAN.md', PLAN);
    const t = await cli(['validate'], repo.dir);
    expect(t.code).toBe(1);
    expect(t.stderr).toBe('');
    const lines = t.stdout.split('\n');
    // The plan the file names is still the one checked.
    expect(lines[0]).toBe('docs/PLAN.md — Plan');
    expect(lines).toContain(
      `${CONFIG}:3:1 error invalid-config "timeouts.task": "10 minuets" is not a duration; write it like 90s, 10m, 1h, 1h30m or 10 minutes`,
    );
    expect(lines).toContain(
      `${CONFIG}:4:1 error invalid-config "timeouts.idle": must be a duration with its unit, like 90s, 10m, 1h, 1h30m or 10 minutes`,
    );
    expect(lines).toContain(
      `${CONFIG}:6:1 error invalid-config "budget.duration": "soon" is not a duration; write it like 90s, 10m, 1h, 1h30m or 10 minutes`,
    );
    expect(lines).toContain('✖ invalid: 3 errors, 2 warnings');

    const json = await cli(['validate', '--json'], repo.dir);
    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout);
    expect(document.valid).toBe(false);
    expect(document.diagnostics[0]).toMatchObject({
      file: CONFIG,
      line: 3,
      column: 1,
      severity: 'error',
      code: 'invalid-config',
    });
  });

  it('run refuses the same file with the same lines, before anything starts', async () => {
    await repo.write(CONFIG, 'timeouts:\n  grace: 0s\n  task: 5x\n');
    await repo.commit('config');
    const t = await cli(['run', '--dry-run'], repo.dir);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain(`${CONFIG}:2: "timeouts.grace": "0s" must be longer than zero`);
    expect(t.stderr).toContain(`${CONFIG}:3: "timeouts.task": "5x" is not a duration`);
  });

  it('accepts durations in words: "10 minutes" is ten minutes', async () => {
    await repo.write(CONFIG, 'timeouts:\n  task: 10 minutes\n  idle: 1 hour 30 min\n');
    const t = await cli(['validate'], repo.dir);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('✔ valid');
    const settings = settingsFromConfig(parseConfig('timeouts:\n  task: 10 minutes\n', CONFIG));
    expect(settings.taskTimeoutMs).toBe(600_000);
    expect(
      settingsFromConfig(
        parseConfig('timeouts:\n  idle: 1 hour 30 min\n  grace: 5 seconds\n', CONFIG),
      ),
    ).toMatchObject({ idleTimeoutMs: 5_400_000, graceMs: 5_000 });
  });

  it('every unknown key is named at its own line', async () => {
    await repo.write(CONFIG, 'agent:\n  kindd: codex\n  modle: sonnet\n');
    const t = await cli(['validate'], repo.dir);
    expect(t.code).toBe(1);
    expect(t.stdout).toContain(
      `${CONFIG}:2:1 error invalid-config "agent.kindd": unrecognized key "kindd"`,
    );
    expect(t.stdout).toContain(
      `${CONFIG}:3:1 error invalid-config "agent.modle": unrecognized key "modle" (did you mean "model"?)`,
    );
  });

  it('says which key or value was meant, what a check command must be, and where YAML broke', () => {
    const problems = (text: string): string[] => {
      try {
        parseConfig(text, CONFIG);
      } catch (error) {
        return (error as ConfigurationError).problems.map(
          (problem) => `${problem.line}: ${problem.message}`,
        );
      }
      throw new Error('accepted');
    };
    expect(
      problems(
        'timeout:\n  task: 5m\nagent:\n  kind: claud\nvalidation:\n  test: npm test\n  lint: [eslint]\n',
      ),
    ).toEqual([
      '1: "timeout": unrecognized key "timeout" (did you mean "timeouts"?)',
      '4: "agent.kind": Invalid option: expected one of "claude-code"|"codex"|"command" (did you mean "claude-code"?)',
      '6: "validation.test": unrecognized key "test" (did you mean "tests"?)',
      '7: "validation.lint": expected a shell command (text), or false to turn the check off',
    ]);
    // Far from every key: no guess.
    expect(problems('zzzzzz: 1\n')).toEqual(['1: "zzzzzz": unrecognized key "zzzzzz"']);
    // An unclosed quote: the line it ran to, not none.
    expect(problems('validation:\n  tests: "npm test\n')).toEqual([
      '3: invalid YAML: Missing closing "quote',
    ]);
  });
});

describe('what sits at the config path is checked before it is read, as the plan is', () => {
  const configAt = () => join(repo.dir, CONFIG);

  it('refuses a link to a device (/dev/zero filled the memory), naming the file', async () => {
    await mkdir(join(repo.dir, '.github'), { recursive: true });
    await symlink('/dev/zero', configAt());
    for (const argv of [['validate'], ['run', '--dry-run', '--agent-command', 'true']]) {
      const t = await cli(argv, repo.dir);
      expect(t.code, argv.join(' ')).not.toBe(0);
      expect(t.stdout + t.stderr).toMatch(/parallel-executor\.yml.*is not a regular file/);
    }
  });

  it('refuses a FIFO at once instead of waiting on it for ever', async () => {
    await mkdir(join(repo.dir, '.github'), { recursive: true });
    await execFileAsync('mkfifo', [configAt()]);
    const t = await cli(['validate'], repo.dir);
    expect(t.code).not.toBe(0);
    expect(t.stdout + t.stderr).toMatch(/is not a regular file \(a FIFO/);
  });

  it('refuses a committed link to a file outside the repository', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'pe-outside-'));
    try {
      await writeFile(join(outside, 'secret.yml'), 'plan: MULTI_AGENT_PLAN.md\n');
      await mkdir(join(repo.dir, '.github'), { recursive: true });
      await symlink(join(outside, 'secret.yml'), configAt());
      const t = await cli(['validate'], repo.dir);
      expect(t.code).not.toBe(0);
      expect(t.stdout + t.stderr).toMatch(
        /is a symbolic link to .*secret\.yml, outside the repository/,
      );
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
