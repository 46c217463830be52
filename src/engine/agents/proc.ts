import { readdirSync, readFileSync } from 'node:fs';

/**
 * Linux's /proc, read the one way every part of the tool needs it. Synchronous on purpose: a scan
 * of a few hundred tiny files takes milliseconds this way and ten times longer through the thread
 * pool.
 */

/** The pids /proc lists, or null where there is no /proc (macOS, Windows). */
export function procPids(root = '/proc'): string[] | null {
  try {
    return readdirSync(root).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
}

/** `/proc/<pid>/<file>` as text, or null (the process exited, or is another user's). */
export function readProc(pid: string | number, file: string, root = '/proc'): string | null {
  try {
    return readFileSync(`${root}/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The fields of `/proc/<pid>/stat` after the command name, so index 0 is field 3 (state) of
 * proc(5): field N is at index N - 3. The command name may hold spaces and parentheses, so the
 * split is after the last `)`. Null when the process is gone.
 */
export function statFields(pid: string | number): string[] | null {
  const stat = readProc(pid, 'stat');
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
