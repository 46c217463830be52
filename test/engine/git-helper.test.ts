/**
 * Git runs through a helper process (workspace/git-helper.ts) so that the orchestrator's main
 * thread does not fork itself for each git command. What `git()` answers must be exactly what
 * git said, whatever the bytes, the size, the environment or the fate of the helper.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MissingDirectoryError } from '../../src/engine/errors.js';
import { git } from '../../src/engine/workspace/git-exec.js';
import { createTempRepo, type TempRepo } from '../support/git-repo.js';

let repo: TempRepo;
afterEach(() => repo?.cleanup());

/** The helper's pid: the one child of this process running `node -e`. */
function helperPid(): number {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString();
  const line = out.split('\n').find((l) => / -e\s/.test(l) || l.includes(' -e '));
  if (line === undefined) throw new Error(`no helper among:\n${out}`);
  return Number(line.trim().split(/\s+/)[0]);
}

describe('git through the helper process', () => {
  it('gives back output byte for byte: names that are not UTF-8, NUL separators, megabytes', async () => {
    repo = await createTempRepo();
    // A file name with a byte that is not UTF-8, and 3 MB of output from one command.
    execFileSync('sh', ['-c', `touch "$(printf 'odd\\377.txt')"`], { cwd: repo.dir });
    const big = 'line of text\n'.repeat(250_000);
    await writeFile(join(repo.dir, 'big.txt'), big);
    const listed = await git(repo.dir, ['ls-files', '--others', '-z']);
    expect(listed.stdout.split('\0')).toContain('big.txt');
    expect(listed.stdout).toContain('odd\ufffd.txt');
    const hashed = await git(repo.dir, ['hash-object', '-w', '--stdin'], { input: big });
    const blob = await git(repo.dir, ['cat-file', '-p', hashed.stdout.trim()]);
    expect(blob.stdout).toBe(big);
  });

  it('keeps exit codes, stderr and the errors a caller acts on', async () => {
    repo = await createTempRepo();
    const allowed = await git(repo.dir, ['diff', '--quiet', 'HEAD'], { allowExitCodes: [1] });
    expect(allowed.exitCode).toBe(0);
    await writeFile(join(repo.dir, 'README.md'), 'changed\n');
    expect((await git(repo.dir, ['diff', '--quiet'], { allowExitCodes: [1] })).exitCode).toBe(1);
    await expect(git(repo.dir, ['rev-parse', '--verify', 'no-such-ref'])).rejects.toThrow(
      /git rev-parse --verify no-such-ref failed in .* \(exit 128\): fatal: Needed a single revision/,
    );
    await expect(git(join(repo.dir, 'gone'), ['status'])).rejects.toBeInstanceOf(
      MissingDirectoryError,
    );
    await expect(git(repo.dir, ['status'], { env: { PATH: '/nonexistent' } })).rejects.toThrow(
      /git was not found: install git, or put it on PATH/,
    );
  });

  it('runs each command with the environment of that moment, or the one it is given', async () => {
    repo = await createTempRepo();
    await git(repo.dir, ['status']);
    // A git earlier on PATH, put there after the helper started: it is the one that runs.
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    const bin = await mkdtemp(join(tmpdir(), 'pe-helper-git-'));
    await writeFile(
      join(bin, 'git'),
      `#!/bin/sh\necho "wrapped $MARK" >&2\nexec "${realGit}" "$@"\n`,
    );
    await chmod(join(bin, 'git'), 0o755);
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    process.env['MARK'] = 'inherited';
    try {
      expect((await git(repo.dir, ['rev-parse', 'HEAD'])).stderr).toBe('wrapped inherited\n');
      const given = await git(repo.dir, ['rev-parse', 'HEAD'], {
        env: { PATH: process.env['PATH'], MARK: 'given' },
      });
      expect(given.stderr).toBe('wrapped given\n');
    } finally {
      process.env['PATH'] = path;
      delete process.env['MARK'];
      await rm(bin, { recursive: true, force: true });
    }
    expect((await git(repo.dir, ['rev-parse', 'HEAD'])).stderr).toBe('');
  });

  it('reports a command the killed helper had under way as failed, never runs it twice, and starts again', async () => {
    repo = await createTempRepo();
    await git(repo.dir, ['status']);
    const pid = helperPid();
    // A git that takes a while: the helper is killed while it runs.
    const slow = git(repo.dir, ['-c', 'alias.slow=!sleep 1 && echo ran >> ran.txt', 'slow']);
    setTimeout(() => process.kill(pid, 'SIGKILL'), 200);
    await expect(slow).rejects.toThrow(/the process that starts git for parallel-executor stopped/);
    // The next command gets a new helper.
    expect((await git(repo.dir, ['rev-parse', '--is-inside-work-tree'])).stdout).toBe('true\n');
    expect(helperPid()).not.toBe(pid);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // What was under way finished once on its own (orphaned, not killed), and was not run again.
    expect(execFileSync('cat', ['ran.txt'], { cwd: repo.dir }).toString()).toBe('ran\n');
  });

  it('does not keep a finished program alive', async () => {
    repo = await createTempRepo();
    const here = fileURLToPath(new URL('.', import.meta.url));
    const script = join(repo.dir, 'one-git.mts');
    const module = join(here, '../../src/engine/workspace/git-exec.ts');
    await writeFile(
      script,
      `import { git } from ${JSON.stringify(module)};\nconsole.log((await git(process.cwd(), ['rev-parse', '--is-inside-work-tree'])).stdout.trim());\n`,
    );
    const tsx = join(here, '../../node_modules/.bin/tsx');
    const child = spawn(tsx, [script], { cwd: repo.dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(out).toBe('true\n');
    expect(code).toBe(0);
  });
});
