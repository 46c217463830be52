import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/engine/exec/run-command.js';
import { childEnv, tempDir } from './helpers.js';

/** A killed process nobody reaped (no init in a container) is a zombie: dead for our purposes. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

describe('runCommand', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir('run')));
  afterEach(() => dir.remove());

  it('runs in the directory with the env, output and exit code captured', async () => {
    const outputFile = join(dir.path, 'logs', 'out.txt');
    const result = await runCommand({
      command: 'echo "in $(pwd) as $WHO"; echo oops >&2; exit 3',
      cwd: dir.path,
      env: { ...childEnv(), WHO: 'tester' },
      outputFile,
    });
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, aborted: false });
    const output = await readFile(outputFile, 'utf8');
    expect(output).toContain(`in ${dir.path} as tester`);
    expect(output).toContain('oops');
  });

  it('keeps stderr apart when asked', async () => {
    const outputFile = join(dir.path, 'out.json');
    const stderrFile = join(dir.path, 'err.txt');
    await runCommand({
      command: 'echo "{}"; echo "npm warn" >&2',
      cwd: dir.path,
      env: childEnv(),
      outputFile,
      stderrFile,
    });
    expect(await readFile(outputFile, 'utf8')).toBe('{}\n');
    expect(await readFile(stderrFile, 'utf8')).toBe('npm warn\n');
  });

  it('on timeout stops the whole process group, grandchildren included', async () => {
    const pidFile = join(dir.path, 'pid');
    const result = await runCommand({
      command: `sleep 30 & echo $! > ${pidFile}; wait`,
      cwd: dir.path,
      env: childEnv(),
      outputFile: join(dir.path, 'out.txt'),
      timeoutMs: 300,
      graceMs: 1_000,
    });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(await waitUntil(() => !alive(grandchild))).toBe(true);
  });

  it('says which directory is missing when the command cannot start', async () => {
    const cwd = join(dir.path, 'gone');
    await expect(
      runCommand({ command: 'true', cwd, env: childEnv(), outputFile: join(dir.path, 'o.txt') }),
    ).rejects.toThrow(`cannot run "true" in ${cwd}`);
  });

  it('on abort stops the command; an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    const pending = runCommand({
      command: 'sleep 30',
      cwd: dir.path,
      env: childEnv(),
      outputFile: join(dir.path, 'out.txt'),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    expect(result).toMatchObject({ aborted: true, exitCode: null, signal: 'SIGTERM' });

    const marker = join(dir.path, 'marker');
    const skipped = await runCommand({
      command: `touch ${marker}`,
      cwd: dir.path,
      env: childEnv(),
      outputFile: join(dir.path, 'out2.txt'),
      signal: controller.signal,
    });
    expect(skipped.aborted).toBe(true);
    await expect(readFile(marker)).rejects.toThrow();
  });
});
