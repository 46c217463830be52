import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-run/helpers.js';

describe('cli', () => {
  it('prints the version from package.json for --version, -v and version', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-v', 'version']) {
      const t = await cli([flag], process.cwd());
      expect([t.code, t.stdout]).toEqual([0, `parallel-executor ${version}\n`]);
    }
  });

  it('rejects an unknown command with exit 2 and the usage', async () => {
    const t = await cli(['frobnicate'], process.cwd());
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('unknown command "frobnicate"');
    expect(t.stderr).toContain('Usage: parallel-executor');
  });

  it('answers an unknown flag with exit 2, the flag named, and where to look', async () => {
    const t = await cli(['validate', '--bogus'], process.cwd());
    expect(t.code).toBe(2);
    expect(t.stderr).toContain("Unknown option '--bogus'");
    expect(t.stderr).not.toContain('positional');
    // The command typed, not a placeholder; no guess for a word close to no option.
    expect(t.stderr).toContain('hint: `parallel-executor validate --help` lists its options.');
  });

  it('names the option or command a typo was probably meant to be', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['run', '--concurency', '2'],
        'hint: did you mean --concurrency? `parallel-executor run --help`',
      ],
      [['run', '--dryrun'], 'hint: did you mean --dry-run?'],
      [
        ['resume', '--retry-faild'],
        'hint: did you mean --retry-failed? `parallel-executor resume --help`',
      ],
      [['clean', '--forse'], 'hint: did you mean --force?'],
      [['statuss'], 'unknown command "statuss" (did you mean status?)'],
    ];
    for (const [argv, said] of cases) {
      const t = await cli(argv, process.cwd());
      expect({ argv, code: t.code }).toEqual({ argv, code: 2 });
      expect(t.stderr).toContain(said);
    }
    const far = await cli(['frobnicate'], process.cwd());
    expect(far.stderr).not.toContain('did you mean');
  });

  it('answers a bad config file with exit 2, naming the file, the line and the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pe-cli-config-'));
    try {
      execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
      await mkdir(join(dir, '.github'));
      await writeFile(
        join(dir, '.github', 'parallel-executor.yml'),
        'concurrency: 2\nretries: two\n',
      );
      await writeFile(
        join(dir, 'MULTI_AGENT_PLAN.md'),
        '## Parallel Group 1: X\n- [ ] 1.1: Do (Builder-1, 1h)\n',
      );
      const t = await cli(
        ['run', '--dry-run', '--agent', 'command', '--agent-command', 'true'],
        dir,
      );
      expect(t.stderr).toContain('.github/parallel-executor.yml:2: "retries"');
      expect(t.code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("prints a command's help for `help COMMAND`", async () => {
    const t = await cli(['help', 'run'], process.cwd());
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^Usage: parallel-executor run /);
  });

  it('answers a run outside a git repository with exit 2 and what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pe-cli-no-git-'));
    try {
      const t = await cli(['run', '--dry-run'], dir);
      expect(t.code).toBe(2);
      expect(t.stderr).toContain(`${dir} is not inside a git repository`);
      expect(t.stderr).toMatch(/hint: .*cd into your repository/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 130 when stopped by Ctrl-C, whatever the command returned', async () => {
    const controller = new AbortController();
    controller.abort('SIGINT');
    const t = await cli(['help', 'status'], process.cwd(), {}, controller.signal);
    expect(t.code).toBe(130);
  });
});

describe('the config file and the plan, found one way', () => {
  async function repoWith(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'pe-cli-find-'));
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
    for (const [file, text] of Object.entries(files)) {
      await mkdir(join(dir, file, '..'), { recursive: true });
      await writeFile(join(dir, file), text);
    }
    return dir;
  }
  const PLAN = '## Parallel Group 1: X\n- [ ] 1.1: Do (Builder-1, 1h)\n';

  it('reads .github/parallel-executor.yaml and reports a bad value in it', async () => {
    const dir = await repoWith({ '.github/parallel-executor.yaml': 'retries: two\n' });
    try {
      const t = await cli(
        ['run', '--dry-run', '--agent', 'command', '--agent-command', 'true'],
        dir,
      );
      expect(t.code).toBe(2);
      expect(t.stderr).toContain('.github/parallel-executor.yaml:1: "retries"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses .yml and .yaml both present, and takes --config FILE', async () => {
    const dir = await repoWith({
      '.github/parallel-executor.yml': 'retries: 1\n',
      '.github/parallel-executor.yaml': 'retries: 2\n',
      'settings/pe.yml': 'plan: plans/main.md\n',
      'plans/main.md': PLAN,
    });
    try {
      const both = await cli(['validate'], dir);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain(
        'both .github/parallel-executor.yml and .github/parallel-executor.yaml exist',
      );
      const chosen = await cli(['validate', '--config', 'settings/pe.yml'], dir);
      expect(chosen.stdout).toContain('plans/main.md');
      expect(chosen.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('validates the plan run would read: the config plan, from a subfolder too', async () => {
    const dir = await repoWith({
      '.github/parallel-executor.yml': 'plan: docs/PLAN.md\n',
      'docs/PLAN.md': PLAN,
      'src/deep/keep.txt': '',
    });
    try {
      const t = await cli(['validate'], join(dir, 'src', 'deep'));
      expect(t.code).toBe(0);
      expect(t.stdout).toContain('../../docs/PLAN.md');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs with --agent-command when .claude/agents/ defines only some agents: a warning', async () => {
    const dir = await repoWith({
      '.claude/agents/builder-1.md': '---\nname: builder-1\ndescription: builds\n---\nBuild.\n',
      'MULTI_AGENT_PLAN.md': `${PLAN}- [ ] 1.2: Do more (Builder-2, 1h)\n`,
    });
    try {
      execFileSync('git', ['add', '-A'], { cwd: dir });
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'plan'], {
        cwd: dir,
      });
      const t = await cli(
        ['run', '--dry-run', '--agent', 'command', '--agent-command', 'true'],
        dir,
      );
      expect(t.stderr + t.stdout).toContain('agent Builder-2 has no definition in .claude/agents/');
      expect(t.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
