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
    expect(t.stderr).toContain('parallel-executor <command> --help');
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
});
