import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

export interface SetupResult {
  exitCode: number | null;
  signal: string | null;
}

/**
 * Run the configured setup command (the user's own trusted text, e.g. `npm ci`) in a worktree,
 * its output appended to the task's log. Runs in its own process group so a cancel kills it all.
 */
export async function runSetupCommand(
  command: string,
  cwd: string,
  logFile: string,
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<SetupResult> {
  const log = await open(logFile, 'a');
  try {
    await log.write(`$ ${command}\n`);
    return await new Promise<SetupResult>((resolve, reject) => {
      const child = spawn('sh', ['-c', command], {
        cwd,
        env,
        stdio: ['ignore', log.fd, log.fd],
        detached: true,
      });
      const kill = () => {
        if (child.pid !== undefined) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      };
      signal?.addEventListener('abort', kill, { once: true });
      child.on('error', reject);
      child.on('close', (code, sig) => {
        signal?.removeEventListener('abort', kill);
        resolve({ exitCode: code, signal: sig });
      });
    });
  } finally {
    await log.close();
  }
}
